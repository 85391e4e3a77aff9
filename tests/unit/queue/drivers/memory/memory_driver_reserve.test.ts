import { describe, expect, it } from 'vitest';
import type { ReserveResult } from '../../../../../core/queue/driver.js';
import { clockedDriver, leaseOf, newJob, reserveOptions, START } from './fixtures.js';

describe('MemoryQueueDriver.reserve', () => {
  it('hands out jobs by priority, then in the order they were pushed', async () => {
    const { driver } = clockedDriver();
    await driver.push([
      newJob('low-1', { priority: 10 }),
      newJob('normal-1'),
      newJob('urgent', { priority: -5 }),
      newJob('normal-2'),
      newJob('low-2', { priority: 10 }),
    ]);
    const { jobs } = await driver.reserve('q', reserveOptions({ count: 10 }));
    expect(jobs.map((job) => job.id)).toEqual(['urgent', 'normal-1', 'normal-2', 'low-1', 'low-2']);
  });

  it('leases a job with its payload, a 1-based attempt and a token, and marks it running', async () => {
    const { driver, now } = clockedDriver();
    await driver.push([newJob('a', { payload: '{"to":"x@y.z"}' })]);
    const { jobs, wakeAt } = await driver.reserve('q', reserveOptions({ leaseMs: 5_000, worker: 'w7' }));
    expect(jobs).toEqual([
      expect.objectContaining({ id: 'a', payload: '{"to":"x@y.z"}', attempt: 1, createdAt: START }),
    ]);
    expect(jobs[0]!.token).toMatch(/.{16,}/);
    expect(wakeAt).toBe(now() + 5_000);
    expect(await driver.getJob('q', 'a')).toMatchObject({
      status: 'running',
      attempts: 1,
      startedAt: now(),
      worker: 'w7',
      payload: { to: 'x@y.z' },
    });
  });

  it('keeps delayed jobs back until their runAt, then queues them in runAt order', async () => {
    const { driver, advance, now } = clockedDriver();
    await driver.push([
      newJob('later', { runAt: now() + 2_000 }),
      newJob('sooner', { runAt: now() + 1_000 }),
    ]);
    expect(await driver.getJob('q', 'later')).toMatchObject({ status: 'delayed', queuedAt: null });

    const early = await driver.reserve('q', reserveOptions({ count: 5 }));
    expect(early.jobs).toEqual([]);
    expect(early.wakeAt).toBe(now() + 1_000);

    advance(2_000);
    const due = await driver.reserve('q', reserveOptions({ count: 5 }));
    expect(due.jobs.map((job) => job.id)).toEqual(['sooner', 'later']);
  });

  it("returns a crashed worker's started job to the queue once its lease has ended, counting the attempt", async () => {
    const { driver, advance } = clockedDriver();
    await driver.push([newJob('a')]);
    const first = await driver.reserve('q', reserveOptions({ leaseMs: 1_000 }));
    expect(await driver.extend([leaseOf(first.jobs[0]!)], 1_000, { started: 1 })).toEqual(['ok']);
    advance(999);
    expect((await driver.reserve('q', reserveOptions())).jobs).toEqual([]);

    advance(1);
    const second = await driver.reserve('q', reserveOptions({ worker: 'w2' }));
    expect(second.jobs).toEqual([expect.objectContaining({ id: 'a', attempt: 2 })]);
    expect(second.jobs[0]!.token).not.toBe(first.jobs[0]!.token);
    expect(second.abandoned).toEqual([]);
    expect(await driver.complete([{ lease: leaseOf(first.jobs[0]!), result: '1' }])).toEqual([false]);
  });

  it('fails a job with E_LEASE_EXPIRED when a crashed worker held its last allowed try', async () => {
    const { driver, advance, now } = clockedDriver();
    await driver.push([newJob('a', { maxTries: 1 })]);
    const first = await driver.reserve('q', reserveOptions({ leaseMs: 1_000 }));
    await driver.progress(leaseOf(first.jobs[0]!), 50, null); // it started
    advance(1_000);
    const { jobs, abandoned } = await driver.reserve('q', reserveOptions());
    expect(jobs).toEqual([]);
    expect(abandoned).toEqual([
      expect.objectContaining({
        id: 'a',
        status: 'failed',
        attempts: 1,
        finishedAt: now(),
        error: expect.objectContaining({ code: 'E_LEASE_EXPIRED' }),
      }),
    ]);
    expect((await driver.listFailed('q', 0, 10)).map((job) => job.id)).toEqual(['a']);
    expect(await driver.counts('q')).toMatchObject({ running: 0, failed: 1 });
  });

  it("uses the worker's default tries for a job dispatched with maxTries 0", async () => {
    const { driver, advance } = clockedDriver();
    await driver.push([newJob('a', { maxTries: 0 })]);
    const options = reserveOptions({ leaseMs: 100, defaultMaxTries: 2 });
    const started = async (reserved: ReserveResult) =>
      driver.extend(reserved.jobs.map(leaseOf), 100, { started: reserved.jobs.length });
    await started(await driver.reserve('q', options));
    advance(100);
    const second = await driver.reserve('q', options);
    expect(second.jobs).toHaveLength(1);
    await started(second);
    advance(100);
    const last = await driver.reserve('q', options);
    expect(last.jobs).toEqual([]);
    expect(last.abandoned.map((job) => job.id)).toEqual(['a']);
  });

  it('cancels instead of retrying a lapsed job whose cancel was requested', async () => {
    const { driver, advance } = clockedDriver();
    await driver.push([newJob('a')]);
    await driver.reserve('q', reserveOptions({ leaseMs: 100 }));
    expect(await driver.cancel('q', 'a')).toBe('running');
    advance(100);
    expect((await driver.reserve('q', reserveOptions())).jobs).toEqual([]);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'cancelled' });
  });

  it('marks a job expired instead of returning it once its expiresAt has passed', async () => {
    const { driver, advance, now } = clockedDriver();
    await driver.push([newJob('stale', { expiresAt: now() + 500 }), newJob('fresh')]);
    advance(500);
    const { jobs } = await driver.reserve('q', reserveOptions({ count: 2 }));
    expect(jobs.map((job) => job.id)).toEqual(['fresh']);
    expect(await driver.getJob('q', 'stale')).toMatchObject({
      status: 'expired',
      finishedAt: now(),
      attempts: 0,
    });
  });

  it('counts an expired job against count, as the Redis driver pops before it checks', async () => {
    const { driver, advance, now } = clockedDriver();
    await driver.push([newJob('stale', { expiresAt: now() + 1 }), newJob('fresh')]);
    advance(1);
    expect((await driver.reserve('q', reserveOptions({ count: 1 }))).jobs).toEqual([]);
    expect((await driver.reserve('q', reserveOptions({ count: 1 }))).jobs.map((job) => job.id)).toEqual([
      'fresh',
    ]);
  });

  it('puts a reclaimed job at the front of its priority, ahead of jobs pushed before it ran', async () => {
    const { driver, advance } = clockedDriver();
    await driver.push([newJob('crashed'), newJob('next'), newJob('urgent', { priority: -1 })]);
    await driver.reserve('q', reserveOptions({ leaseMs: 100 })); // takes urgent
    await driver.reserve('q', reserveOptions({ leaseMs: 100 })); // takes crashed
    advance(100);
    const { jobs } = await driver.reserve('q', reserveOptions({ count: 5 }));
    expect(jobs.map((job) => job.id)).toEqual(['urgent', 'crashed', 'next']);
  });

  it('reports the earliest of the next delayed runAt and the next lease deadline as wakeAt', async () => {
    const { driver, now } = clockedDriver();
    expect((await driver.reserve('q', reserveOptions())).wakeAt).toBeNull();
    await driver.push([newJob('run-now'), newJob('later', { runAt: now() + 10_000 })]);
    expect((await driver.reserve('q', reserveOptions({ leaseMs: 3_000 }))).wakeAt).toBe(now() + 3_000);
    await driver.push([newJob('soon', { runAt: now() + 1_000, queue: 'q' })]);
    expect((await driver.reserve('q', reserveOptions())).wakeAt).toBe(now() + 1_000);
  });
});
