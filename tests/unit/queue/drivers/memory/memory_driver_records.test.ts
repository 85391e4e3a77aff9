import { describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../../../core/errors.js';
import { clockedDriver, leaseOf, newJob, reserveOptions, START } from './fixtures.js';

async function completeNext(clocked: ReturnType<typeof clockedDriver>) {
  const { jobs } = await clocked.driver.reserve('q', reserveOptions());
  await clocked.driver.complete([{ lease: leaseOf(jobs[0]!), result: 'null' }]);
}

const ids = (records: { id: string }[]) => records.map((record) => record.id);

describe('MemoryQueueDriver.push', () => {
  it('leaves a job alone when its id already exists in the queue, whatever its status', async () => {
    const { driver } = clockedDriver();
    expect(await driver.push([newJob('a'), newJob('a', { priority: -9 })])).toEqual(['queued', 'duplicate']);
    await driver.reserve('q', reserveOptions());
    expect(await driver.push([newJob('a'), newJob('a', { queue: 'other' })])).toEqual([
      'duplicate',
      'queued',
    ]);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'running', priority: 0 });
  });

  it('creates a record that is pending, delayed or queued from the job options', async () => {
    const { driver, now } = clockedDriver();
    await driver.push([
      newJob('held', { hold: true }),
      newJob('later', { runAt: now() + 1 }),
      newJob('now', { runAt: now(), expiresAt: now() + 60_000 }),
    ]);
    expect(await driver.getJob('q', 'now')).toEqual({
      id: 'now',
      name: 'TestJob',
      queue: 'q',
      payload: { id: 'now' },
      status: 'queued',
      attempts: 0,
      maxTries: 3,
      priority: 0,
      progress: 0,
      progressMessage: null,
      progressData: null,
      result: null,
      error: null,
      createdAt: START,
      queuedAt: START,
      runAt: START,
      startedAt: null,
      finishedAt: null,
      expiresAt: START + 60_000,
      worker: null,
      owner: null,
      description: null,
    });
    expect(await driver.getJob('q', 'held')).toMatchObject({
      status: 'pending',
      queuedAt: null,
      runAt: null,
    });
    expect(await driver.getJob('q', 'later')).toMatchObject({ status: 'delayed' });
    expect(await driver.counts('q')).toEqual({
      waiting: 1,
      delayed: 1,
      running: 0,
      pending: 1,
      failed: 0,
      completed: 0,
    });
  });

  it('rejects a batch with a bad queue name or job id before adding any of it', async () => {
    const { driver } = clockedDriver();
    await expect(driver.push([newJob('ok'), newJob('bad id')])).rejects.toMatchObject({
      code: 'E_INVALID_JOB_ID',
    });
    await expect(driver.push([newJob('ok', { queue: 'no spaces' })])).rejects.toMatchObject({
      code: 'E_INVALID_QUEUE_NAME',
    });
    expect(await driver.getJob('q', 'ok')).toBeUndefined();
    expect(await driver.queues()).toEqual([]);
  });

  it('shows a payload that is not JSON as its raw text, as the Redis driver does', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('a', { payload: '{oops' })]);
    expect((await driver.getJob('q', 'a'))?.payload).toBe('{oops');
  });

  it('knows every queue pushed to, sorted by name', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('a', { queue: 'sms' }), newJob('b', { queue: 'emails' })]);
    expect(await driver.queues()).toEqual(['emails', 'sms']);
  });
});

describe('MemoryQueueDriver records', () => {
  it('hands out copies that cannot change the stored record', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('a', { payload: '{"list":[1]}' })]);
    const copy = await driver.getJob('q', 'a');
    copy!.status = 'completed';
    (copy!.payload as { list: number[] }).list.push(2);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'queued', payload: { list: [1] } });
  });

  it('lists waiting jobs in the order they will run and finished ones newest first', async () => {
    const clocked = clockedDriver();
    const { driver, advance } = clocked;
    await driver.push([newJob('a'), newJob('b'), newJob('c', { priority: -1 }), newJob('d')]);
    expect(ids(await driver.listJobs('q', 'queued', 0, 10))).toEqual(['c', 'a', 'b', 'd']);
    expect(ids(await driver.listJobs('q', 'queued', 1, 2))).toEqual(['a', 'b']);
    await completeNext(clocked);
    advance(10);
    await completeNext(clocked);
    expect(ids(await driver.listJobs('q', 'completed', 0, 10))).toEqual(['a', 'c']);
    expect(await driver.listJobs('nowhere', 'queued', 0, 10)).toEqual([]);
  });

  it('orders records finished in the same millisecond by id, as a Redis sorted set does', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('m'), newJob('z'), newJob('a')]);
    for (const id of ['m', 'z', 'a']) await driver.cancel('q', id);
    expect(ids(await driver.listJobs('q', 'cancelled', 0, 10))).toEqual(['z', 'm', 'a']);
  });

  it('orders completed records of one millisecond as they were acknowledged, as the Redis completed list does', async () => {
    const { driver } = clockedDriver({ completedCount: 2 });
    await driver.push([newJob('m'), newJob('z'), newJob('a')]);
    const { jobs } = await driver.reserve('q', reserveOptions({ count: 3 }));
    const lease = (id: string) => leaseOf(jobs.find((job) => job.id === id)!);
    for (const id of ['m', 'z', 'a']) await driver.complete([{ lease: lease(id), result: 'null' }]);
    // the clock has not moved: the oldest acknowledged went, not the lowest id
    expect(ids(await driver.listJobs('q', 'completed', 0, 10))).toEqual(['a', 'z']);
    expect(await driver.getJob('q', 'm')).toBeUndefined();
  });

  it('keeps no more records of each finished status than the retention count, dropping the oldest', async () => {
    const clocked = clockedDriver({ completedCount: 2 });
    const { driver, advance } = clocked;
    await driver.push([newJob('a'), newJob('b'), newJob('c'), newJob('x')]);
    await driver.cancel('q', 'x');
    for (let index = 0; index < 3; index++) {
      advance(1);
      await completeNext(clocked);
    }
    expect(await driver.getJob('q', 'a')).toBeUndefined();
    expect(ids(await driver.listJobs('q', 'completed', 0, 10))).toEqual(['c', 'b']);
    expect(await driver.getJob('q', 'x')).toMatchObject({ status: 'cancelled' });
    expect((await driver.counts('q')).completed).toBe(2);
  });

  it('keeps the record of a job finished in the same millisecond as the kept ones, whatever its id', async () => {
    const { driver } = clockedDriver({ completedCount: 1 });
    await driver.push([newJob('b'), newJob('a'), newJob('z'), newJob('y')]);
    const { jobs } = await driver.reserve('q', reserveOptions({ count: 2 }));
    const lease = (id: string) => leaseOf(jobs.find((job) => job.id === id)!);
    await driver.complete([{ lease: lease('b'), result: 'null' }]);
    // the clock has not moved: a lower id ranked below the kept record, and went at once
    await driver.complete([{ lease: lease('a'), result: 'null' }]);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'completed' });
    expect(await driver.getJob('q', 'b')).toBeUndefined();
    await driver.cancel('q', 'z');
    await driver.cancel('q', 'y');
    expect(await driver.getJob('q', 'y')).toMatchObject({ status: 'cancelled' });
    expect(await driver.getJob('q', 'z')).toBeUndefined();
  });

  it('drops finished records that reached the retention age when new ones arrive', async () => {
    const clocked = clockedDriver({ completedAgeMs: 1_000 });
    const { driver, advance } = clocked;
    await driver.push([newJob('old'), newJob('new')]);
    await completeNext(clocked);
    advance(1_000);
    await completeNext(clocked);
    expect(await driver.getJob('q', 'old')).toBeUndefined();
    expect(await driver.getJob('q', 'new')).toMatchObject({ status: 'completed' });
  });

  it('deletes a finished record at once when the retention count is 0', async () => {
    const clocked = clockedDriver({ completedCount: 0 });
    await clocked.driver.push([newJob('a'), newJob('b')]);
    await completeNext(clocked);
    await clocked.driver.cancel('q', 'b');
    expect(await clocked.driver.getJob('q', 'a')).toBeUndefined();
    expect(await clocked.driver.getJob('q', 'b')).toBeUndefined();
    expect((await clocked.driver.counts('q')).completed).toBe(0);
  });

  it('clears waiting and delayed jobs but leaves running and held ones', async () => {
    const { driver, now } = clockedDriver();
    await driver.push([newJob('run'), newJob('wait'), newJob('later', { runAt: now() + 1 })]);
    await driver.push([newJob('held', { hold: true })]);
    await driver.reserve('q', reserveOptions());
    expect(await driver.clear('q')).toBe(2);
    expect(await driver.getJob('q', 'wait')).toBeUndefined();
    expect(await driver.counts('q')).toMatchObject({ waiting: 0, delayed: 0, running: 1, pending: 1 });
  });
});

describe('MemoryQueueDriver.cancel and releaseHeld', () => {
  it('cancels held, queued and delayed jobs at once', async () => {
    const { driver, now } = clockedDriver();
    await driver.push([
      newJob('held', { hold: true }),
      newJob('wait'),
      newJob('later', { runAt: now() + 5 }),
    ]);
    for (const id of ['held', 'wait', 'later']) expect(await driver.cancel('q', id)).toBe('cancelled');
    expect(await driver.getJob('q', 'wait')).toMatchObject({ status: 'cancelled', finishedAt: now() });
    expect(await driver.counts('q')).toMatchObject({ waiting: 0, delayed: 0, pending: 0 });
    expect((await driver.reserve('q', reserveOptions({ count: 5 }))).jobs).toEqual([]);
  });

  it('refuses to cancel a finished job and reports an unknown one as not found', async () => {
    const clocked = clockedDriver();
    await clocked.driver.push([newJob('a')]);
    await completeNext(clocked);
    const finished = await clocked.driver.cancel('q', 'a').catch((error: unknown) => error);
    expect(isTopiqError(finished, 'E_JOB_STATE')).toBe(true);
    expect((finished as Error).message).toContain('it is completed');
    await expect(clocked.driver.cancel('q', 'nope')).rejects.toMatchObject({ code: 'E_JOB_NOT_FOUND' });
    await expect(clocked.driver.cancel('nowhere', 'a')).rejects.toMatchObject({ code: 'E_JOB_NOT_FOUND' });
  });

  it('releases a held job to queued, or to delayed while its runAt is ahead', async () => {
    const { driver, now, advance } = clockedDriver();
    await driver.push([newJob('now', { hold: true }), newJob('later', { hold: true, runAt: now() + 100 })]);
    advance(10);
    expect(await driver.releaseHeld('q', 'now')).toBe('queued');
    expect(await driver.releaseHeld('q', 'later')).toBe('delayed');
    expect(await driver.getJob('q', 'now')).toMatchObject({ status: 'queued', queuedAt: now() });
    await expect(driver.releaseHeld('q', 'now')).rejects.toMatchObject({ code: 'E_JOB_STATE' });
    await expect(driver.releaseHeld('q', 'nope')).rejects.toMatchObject({ code: 'E_JOB_NOT_FOUND' });
  });
});

describe('MemoryQueueDriver stats', () => {
  it('counts the completions of the current 10-second bucket and the six before it (60-70 s)', async () => {
    const { driver, advance, now } = clockedDriver();
    // late in a bucket, so 55 s on is six buckets later
    advance(9_000 - (now() % 10_000));
    await driver.push([newJob('c1')]);
    const { jobs } = await driver.reserve('q', reserveOptions({ leaseMs: 600_000 }));
    await driver.complete([{ lease: leaseOf(jobs[0]!), result: 'null' }]);
    advance(55_000);
    expect((await driver.stats('q')).completedLastMinute).toBe(1);
    advance(10_000);
    expect((await driver.stats('q')).completedLastMinute).toBe(0);
  });
});
