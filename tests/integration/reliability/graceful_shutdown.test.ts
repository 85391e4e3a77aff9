/**
 * SIGTERM to a worker process is a graceful stop: a job still running when the grace
 * period ends is released back to its queue without counting the attempt, the process
 * exits 0, and the next worker runs the job from the start.
 */
import { describe, expect, it } from 'vitest';
import { until, useReliabilityFixture } from '../../support/reliability_fixture.js';

describe('A worker process receiving SIGTERM', { timeout: 60_000 }, () => {
  const setup = useReliabilityFixture('sigterm');

  it('releases a job that outlives the grace period, exits 0, and the next worker completes it', async () => {
    const { driver, queue, redis, keys, started, handled, startWorker, dispatch } = setup();
    const [id] = await dispatch(1, 1500);
    const stopping = await startWorker({ shutdownGraceMs: 300 });
    await until('the job starts', async () => (await started()).length === 1);

    const signalledAt = Date.now();
    expect(await stopping.stop()).toEqual({ code: 0, signal: null });
    // It waited for the grace period, not for the job.
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(300);
    expect(Date.now() - signalledAt).toBeLessThan(1400);
    expect(stopping.stdout).toContain('stopped stopped');
    expect(await driver.getJob(queue, id!)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await driver.counts(queue)).toMatchObject({ waiting: 1, running: 0, failed: 0 });
    expect(await redis.lrange(keys.aborted, 0, -1)).toEqual([`${id} ${stopping.pid} WorkerShutdownError`]);
    expect(await handled()).toEqual([]);

    const next = await startWorker({ stopWhenEmpty: true });
    expect(await next.exited).toEqual({ code: 0, signal: null });
    expect(next.stdout).toContain('stopped empty');
    expect(await driver.getJob(queue, id!)).toMatchObject({
      status: 'completed',
      attempts: 1,
      worker: next.workerName,
    });
    expect(await started()).toEqual([
      { jobId: id, pid: stopping.pid, attempt: 1 },
      { jobId: id, pid: next.pid, attempt: 1 },
    ]);
    expect(await handled()).toEqual([id]);
  });
});
