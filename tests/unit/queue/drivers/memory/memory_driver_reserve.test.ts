import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReserveResult } from '../../../../../core/queue/driver.js';
import { PROMOTIONS_PER_RESERVE } from '../../../../../core/queue/drivers/memory/memory_queue.js';
import { clockedDriver, leaseOf, newJob, reserveOptions, START } from './fixtures.js';

/** This process's clock, which stands still here: a day ahead of the driver's (START). */
const PROCESS_NOW = START + 86_400_000;

describe('MemoryQueueDriver.reserve', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: PROCESS_NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

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
    expect(wakeAt).toBe(PROCESS_NOW + 5_000);
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
    expect(early.wakeAt).toBe(PROCESS_NOW + 1_000);

    advance(2_000);
    const due = await driver.reserve('q', reserveOptions({ count: 5 }));
    expect(due.jobs.map((job) => job.id)).toEqual(['sooner', 'later']);
  });

  it('queues a delayed job or retry come due as of its runAt, when it became ready to run', async () => {
    const { driver, advance, now } = clockedDriver();
    await driver.push([newJob('due', { runAt: now() + 1_000 }), newJob('retried')]);
    const [reserved] = (await driver.reserve('q', reserveOptions())).jobs;
    const retry = await driver.fail({
      lease: leaseOf(reserved!),
      error: { message: 'again' },
      retryInMs: 2_000,
    });
    advance(5_000);
    expect((await driver.stats('q')).oldestWaitingMs).toBe(4_000);
    const { changed } = await driver.reserve('q', reserveOptions({ count: 0 }));
    expect(changed.map((change) => change.id)).toEqual(['due', 'retried']);
    expect(await driver.getJob('q', 'due')).toMatchObject({ status: 'queued', queuedAt: START + 1_000 });
    expect(await driver.getJob('q', 'retried')).toMatchObject({ status: 'queued', queuedAt: retry.runAt });
    expect((await driver.stats('q')).oldestWaitingMs).toBe(4_000);
  });

  it(`promotes at most ${PROMOTIONS_PER_RESERVE} due delayed jobs per call, the first to come due, as Redis does`, async () => {
    const { driver, advance, now } = clockedDriver();
    const ids = Array.from({ length: PROMOTIONS_PER_RESERVE + 1 }, (_, index) => `d${index}`);
    // the last to come due would be reserved first, had it been promoted
    await driver.push(
      ids.map((id, index) => newJob(id, { runAt: now() + 1 + index, priority: index === 1000 ? -5 : 0 })),
    );
    advance(10_000);
    const first = await driver.reserve('q', reserveOptions());
    expect(first.jobs.map((job) => job.id)).toEqual(['d0']);
    expect(first.changed).toHaveLength(PROMOTIONS_PER_RESERVE);
    expect(await driver.counts('q')).toMatchObject({ delayed: 1, waiting: PROMOTIONS_PER_RESERVE - 1 });
    // the one left is due: the caller is told to look again at once
    expect(first.wakeAt).toBe(PROCESS_NOW);
    expect((await driver.reserve('q', reserveOptions())).jobs.map((job) => job.id)).toEqual(['d1000']);
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
    expect((await driver.reserve('q', reserveOptions({ leaseMs: 3_000 }))).wakeAt).toBe(PROCESS_NOW + 3_000);
    await driver.push([newJob('soon', { runAt: now() + 1_000, queue: 'q' })]);
    expect((await driver.reserve('q', reserveOptions())).wakeAt).toBe(PROCESS_NOW + 1_000);
  });

  it("hands out wakeAt and a job's expiresAt on this process's clock, which the caller compares them with", async () => {
    const { driver, now } = clockedDriver();
    await driver.push([newJob('a', { expiresAt: now() + 60_000 }), newJob('b', { runAt: now() + 2_000 })]);
    const { jobs, wakeAt } = await driver.reserve('q', reserveOptions({ leaseMs: 5_000 }));
    expect(jobs[0]!.expiresAt).toBe(PROCESS_NOW + 60_000);
    expect(wakeAt).toBe(PROCESS_NOW + 2_000);
    // the record keeps the driver's clock, as a Redis record keeps the server's
    expect(await driver.getJob('q', 'a')).toMatchObject({ expiresAt: START + 60_000 });
  });
});
