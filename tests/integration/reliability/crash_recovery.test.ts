/**
 * A worker process killed with SIGKILL (no cleanup, no release) loses nothing: its jobs
 * stay leased until the lease expires, then another worker process runs them again.
 */
import { describe, expect, it } from 'vitest';
import { until, useReliabilityFixture } from '../../support/reliability_fixture.js';

describe('Worker processes killed with SIGKILL', { timeout: 60_000 }, () => {
  const setup = useReliabilityFixture('crash');

  it("returns a crashed worker's job after its lease expires, and another worker completes it", async () => {
    const { driver, queue, started, handled, startWorker, dispatch } = setup();
    const [id] = await dispatch(1, 2000);
    const crashing = await startWorker({ leaseMs: 500 });
    await until('worker A starts the job', async () => (await started()).length === 1);
    expect(await crashing.crash()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await driver.getJob(queue, id!)).toMatchObject({ status: 'running', attempts: 1 });

    const rescuer = await startWorker({ leaseMs: 500 });
    await until(
      'worker B completes the job',
      async () => (await driver.getJob(queue, id!))?.status === 'completed',
    );

    expect(await driver.getJob(queue, id!)).toMatchObject({
      status: 'completed',
      attempts: 2,
      worker: rescuer.workerName,
    });
    expect(await started()).toEqual([
      { jobId: id, pid: crashing.pid, attempt: 1 },
      { jobId: id, pid: rescuer.pid, attempt: 2 },
    ]);
    expect(await handled()).toEqual([id]);
    expect(await driver.counts(queue)).toEqual({
      waiting: 0,
      delayed: 0,
      running: 0,
      pending: 0,
      failed: 0,
      completed: 1,
    });
    expect(await rescuer.stop()).toEqual({ code: 0, signal: null });
  });

  it('completes every one of 50 jobs when one of two workers is killed mid-way', async () => {
    const { driver, queue, started, handled, handledCount, startWorker, dispatch } = setup();
    const settings = { concurrency: 4, leaseMs: 500 };
    const [crashing, survivor] = await Promise.all([startWorker(settings), startWorker(settings)]);
    const ids = await dispatch(50, 100);
    await until('15 jobs are handled', async () => (await handledCount()) >= 15);
    await crashing!.crash();
    const handledAtCrash = await handledCount();
    expect(handledAtCrash).toBeLessThan(50);

    await until(
      'all 50 jobs complete',
      async () => (await driver.counts(queue)).completed === 50,
      15_000,
      async () => JSON.stringify(await driver.counts(queue)),
    );

    expect(new Set(await handled())).toEqual(new Set(ids));
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0, running: 0, failed: 0, completed: 50 });
    // The jobs the crashed worker held ran again on the survivor, as a second attempt.
    const completed = await driver.listJobs(queue, 'completed', 0, 100);
    const rerun = completed.filter((record) => record.attempts === 2);
    expect(rerun.length).toBeGreaterThan(0);
    for (const record of rerun) {
      const runs = (await started()).filter((entry) => entry.jobId === record.id);
      // A job reserved by the crashed worker may have been killed before its first line ran.
      expect(runs.filter((entry) => entry.pid !== crashing!.pid)).toEqual([
        { jobId: record.id, pid: survivor!.pid, attempt: 2 },
      ]);
      expect(runs.filter((entry) => entry.pid === crashing!.pid).map((entry) => entry.attempt)).not.toContain(
        2,
      );
      expect(record.worker).toBe(survivor!.workerName);
    }
    expect(completed.every((record) => record.attempts <= 2)).toBe(true);
    expect(await survivor!.stop()).toEqual({ code: 0, signal: null });
  });
});
