/**
 * Four worker processes competing for one queue never run a job twice and never skip
 * one: reserving is one Lua script, so two workers cannot take the same job.
 */
import { describe, expect, it } from 'vitest';
import { until, useReliabilityFixture } from '../../support/reliability_fixture.js';

const JOBS = 10_000;
const WORKERS = 4;

describe('Worker processes competing for one queue', { timeout: 60_000 }, () => {
  const setup = useReliabilityFixture('compete');

  it('handle each of 10,000 jobs exactly once between four processes', async () => {
    const { driver, queue, redis, keys, handled, handledCount, startWorker, dispatch } = setup();
    // Workers first, idle and blocked, so all four are in the race from the first job.
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, () => startWorker({ concurrency: 20, completedCount: 2 * JOBS })),
    );
    const ids = await dispatch(JOBS, 0);

    await until(
      'every job is handled and acknowledged',
      async () => (await driver.counts(queue)).completed === JOBS,
      30_000,
      async () => `counts ${JSON.stringify(await driver.counts(queue))}, handled ${await handledCount()}`,
    );
    const exits = await Promise.all(workers.map((worker) => worker.stop()));
    expect(exits).toEqual(workers.map(() => ({ code: 0, signal: null })));

    const handledIds = await handled();
    expect(handledIds).toHaveLength(JOBS);
    expect(new Set(handledIds).size).toBe(JOBS);
    expect([...handledIds].sort()).toEqual([...ids].sort());
    expect(await driver.counts(queue)).toEqual({
      waiting: 0,
      delayed: 0,
      running: 0,
      pending: 0,
      failed: 0,
      completed: JOBS,
    });
    const byPid = await redis.hgetall(keys.handledByPid);
    expect(Object.keys(byPid).sort()).toEqual(workers.map((worker) => String(worker.pid)).sort());
    expect(Object.values(byPid).reduce((sum, count) => sum + Number(count), 0)).toBe(JOBS);
  });
});
