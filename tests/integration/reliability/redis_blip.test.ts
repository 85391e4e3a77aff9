/**
 * Redis closing a worker process's connections (a failover, a proxy restart, `CLIENT
 * KILL`) is a blip, not a crash: the process reconnects and every job still completes,
 * at least once. Only the worker's connections are killed (found by their client name),
 * so tests running beside this one are not disturbed.
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../../support/queue_names.js';
import { until, useReliabilityFixture } from '../../support/reliability_fixture.js';

describe('A worker process whose Redis connections are killed', { timeout: 60_000 }, () => {
  const setup = useReliabilityFixture('blip');

  it('reconnects while idle and runs the jobs dispatched afterwards', async () => {
    const { driver, queue, prefix, handled, startWorker, dispatch, killConnections } = setup();
    const worker = await startWorker({ concurrency: 4, leaseMs: 1000 });
    await sleep(200); // let it block, waiting for work
    expect(await killConnections(`${prefix}-worker`)).toBeGreaterThanOrEqual(3); // commands, journal, blocking

    const ids = await dispatch(20, 10);
    await until(
      'all 20 jobs complete',
      async () => (await driver.counts(queue)).completed === 20,
      15_000,
      async () => JSON.stringify(await driver.counts(queue)),
    );
    expect(new Set(await handled())).toEqual(new Set(ids));
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0, running: 0, failed: 0, completed: 20 });
    expect(worker.alive).toBe(true);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });

  it('keeps running jobs through two blips and completes every one', async () => {
    const { driver, queue, prefix, handled, handledCount, startWorker, dispatch, killConnections } = setup();
    const worker = await startWorker({ concurrency: 4, leaseMs: 1000 });
    const ids = await dispatch(60, 50);
    await until('10 jobs are handled', async () => (await handledCount()) >= 10);
    expect(await killConnections(`${prefix}-worker`)).toBeGreaterThanOrEqual(2);
    await until('30 jobs are handled', async () => (await handledCount()) >= 30);
    expect(await killConnections(`${prefix}-worker`)).toBeGreaterThanOrEqual(2);

    await until(
      'all 60 jobs complete',
      async () => (await driver.counts(queue)).completed === 60,
      15_000,
      async () => JSON.stringify(await driver.counts(queue)),
    );
    expect(new Set(await handled())).toEqual(new Set(ids));
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0, running: 0, failed: 0, completed: 60 });
    expect(worker.alive).toBe(true);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });

  it('completes every job through a storm of kills, one every 30 ms while it works', async () => {
    const { driver, queue, prefix, handled, startWorker, dispatch, killConnections } = setup();
    const worker = await startWorker({ concurrency: 8, leaseMs: 1000 });
    const ids = await dispatch(200, 20);
    let kills = 0;
    const stormEnds = Date.now() + 3000;
    while ((await driver.counts(queue)).completed < 200 && Date.now() < stormEnds) {
      kills += await killConnections(`${prefix}-worker`);
      await sleep(30);
    }
    expect(kills).toBeGreaterThanOrEqual(20);

    await until(
      'all 200 jobs complete',
      async () => (await driver.counts(queue)).completed === 200,
      15_000,
      async () => JSON.stringify(await driver.counts(queue)),
    );
    expect(new Set(await handled())).toEqual(new Set(ids));
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0, running: 0, failed: 0, completed: 200 });
    expect(worker.alive).toBe(true);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });
});
