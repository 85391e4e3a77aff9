/**
 * A worker process killed with SIGKILL (no cleanup, no release) loses nothing: its jobs
 * stay leased until the lease expires, then another worker process runs them again. The
 * attempt of a job it was running counts; that of a job it held reserved ahead, never
 * started, is given back, so even a job with `maxTries: 1` still runs.
 */
import { describe, expect, it } from 'vitest';
import { until, useReliabilityFixture } from '../../support/reliability_fixture.js';

describe('Worker processes killed with SIGKILL', { timeout: 60_000 }, () => {
  const setup = useReliabilityFixture('crash');

  it("returns a crashed worker's job after its lease expires, and another worker completes it", async () => {
    const { driver, queue, started, handled, startWorker, dispatch, knownStarted } = setup();
    const [id] = await dispatch(1, 2000);
    const crashing = await startWorker({ leaseMs: 500 });
    await until('worker A starts the job', async () => (await started()).length === 1);
    // its lease renewal (every third of the lease) tells Redis the job runs: the crash uses a try
    await until('worker A reports the job started', () => knownStarted(id!));
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
    // killed mid-job: while it runs one (on a loaded machine it may sit between jobs a while)
    await until('the worker to be killed runs a job', async () => {
      const done = new Set(await handled());
      return (await started()).some((entry) => entry.pid === crashing!.pid && !done.has(entry.jobId));
    });
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
    // The jobs the crashed worker was running when it died ran again on the survivor: as a
    // second attempt when its lease renewal had reported them started, else as the first again.
    const completed = await driver.listJobs(queue, 'completed', 0, 100);
    const runs = await started();
    const rerun = completed.filter(
      (record) =>
        record.worker === survivor!.workerName &&
        runs.some((entry) => entry.jobId === record.id && entry.pid === crashing!.pid),
    );
    expect(rerun.length).toBeGreaterThan(0);
    for (const record of rerun) {
      const ofJob = runs.filter((entry) => entry.jobId === record.id);
      const crashed = ofJob.filter((entry) => entry.pid === crashing!.pid);
      expect(crashed).toEqual([{ jobId: record.id, pid: crashing!.pid, attempt: 1 }]);
      expect(ofJob.filter((entry) => entry.pid !== crashing!.pid)).toEqual([
        { jobId: record.id, pid: survivor!.pid, attempt: record.attempts },
      ]);
      expect([1, 2]).toContain(record.attempts);
    }
    expect(completed.every((record) => record.attempts <= 2)).toBe(true);
    expect(await survivor!.stop()).toEqual({ code: 0, signal: null });
  });

  it('runs the maxTries: 1 jobs a killed worker held reserved ahead, and counts the try of the ones it ran', async () => {
    const { driver, queue, started, handled, startWorker, dispatch, knownStarted } = setup();
    // two slots: the two long jobs start, and the worker reserves the short ones ahead (a
    // fixed prefetch: left to decide, it holds nothing ahead of jobs it has not timed yet)
    const long = await dispatch(2, 3000);
    const short = await dispatch(6, 10, { maxTries: 1 });
    const crashing = await startWorker({ concurrency: 2, leaseMs: 600, prefetch: 6 });
    await until('both long jobs are reported started', async () =>
      (await Promise.all(long.map(knownStarted))).every(Boolean),
    );
    const held = (await Promise.all(short.map((id) => driver.getJob(queue, id)))).filter(
      (record) => record?.status === 'running' && record.worker === crashing.workerName,
    );
    expect(held.length).toBeGreaterThan(0); // reserved ahead, attempt 1 counted when reserved
    expect(held.every((record) => record!.attempts === 1)).toBe(true);
    expect((await started()).map((entry) => entry.jobId).sort()).toEqual([...long].sort());
    expect(await crashing.crash()).toEqual({ code: null, signal: 'SIGKILL' });

    const rescuer = await startWorker({ concurrency: 2, leaseMs: 600 });
    await until(
      'every job completes',
      async () => (await driver.counts(queue)).completed === 8,
      15_000,
      async () => JSON.stringify(await driver.counts(queue)),
    );
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0, running: 0, failed: 0, completed: 8 });
    const runs = await started();
    for (const id of short) {
      // never started by the killed worker; run once, on its first (given back) attempt
      expect(runs.filter((entry) => entry.jobId === id)).toEqual([
        { jobId: id, pid: rescuer.pid, attempt: 1 },
      ]);
      expect(await driver.getJob(queue, id)).toMatchObject({ attempts: 1, worker: rescuer.workerName });
    }
    for (const id of long) {
      // started by the killed worker, reported by its renewal: the crash used a try
      expect(runs.filter((entry) => entry.jobId === id)).toEqual([
        { jobId: id, pid: crashing.pid, attempt: 1 },
        { jobId: id, pid: rescuer.pid, attempt: 2 },
      ]);
    }
    expect((await handled()).sort()).toEqual([...long, ...short].sort());
    expect(await rescuer.stop()).toEqual({ code: 0, signal: null });
  });

  it('counts the try of a job killed a few seconds into its run, long before its first lease renewal', async () => {
    const { driver, redis, queue, started, startWorker, dispatch, knownStarted } = setup();
    const [id] = await dispatch(1, 20_000, { maxTries: 1 });
    // a 30 s lease is renewed after 10 s; the worker reports a started job within a second
    const crashing = await startWorker({ leaseMs: 30_000 });
    await until('the worker starts the job', async () => (await started()).length === 1);
    const startedAt = Date.now();
    await until('the worker reports the job started', () => knownStarted(id!), 5000);
    expect(Date.now() - startedAt).toBeLessThan(5000);
    expect(await crashing.crash()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await driver.getJob(queue, id!)).toMatchObject({ status: 'running', attempts: 1 });
    // its lease ended (moved to the past rather than waited out): the next reserve finds an
    // attempt that ran, on its last try, and fails the job instead of running it again
    await redis.zadd(driver.keys.queue(queue).active, 0, id!);
    const { jobs, abandoned } = await driver.reserve(queue, {
      count: 1,
      leaseMs: 30_000,
      worker: 'rescuer',
      defaultMaxTries: 3,
    });
    expect(jobs).toEqual([]);
    expect(abandoned).toMatchObject([{ id, status: 'failed', error: { code: 'E_LEASE_EXPIRED' } }]);
  });
});
