/**
 * A job key that holds another type (its hash replaced by hand, or by another program under the
 * same prefix). Redis does not roll a script back, so a call on it must neither fail halfway,
 * after writes it keeps, nor fail the other jobs of its batch: a batch takes that job as gone
 * and goes on; a call on that job alone fails before any write with `E_REDIS_WRONG_TYPE`,
 * naming the key. (Reserve and complete: redis_driver.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../core/console/index.js';
import type { Lease, ReservedJob } from '../../../core/queue/driver.js';
import type { QueueKeys } from '../../../core/queue/drivers/redis/keys.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { reserveScriptKeys } from '../../../core/queue/drivers/redis/redis_reserve.js';
import { runScript } from '../../../core/queue/drivers/redis/scripts.js';
import { JobManager } from '../../../core/queue/job_manager.js';
import { newJob } from '../../support/new_job.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { cliEnv, deletePrefix, REDIS_URL, runInProcess, uniquePrefix } from '../console/cli_harness.js';

const reserveOptions = { count: 10, leaseMs: 30_000, worker: 'w1', defaultMaxTries: 3 };
const leaseOf = (job: ReservedJob): Lease => ({ id: job.id, queue: job.queue, token: job.token });

describe('RedisQueueDriver with a job key of another type', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A driver on a prefix of its own, and a queue. */
  function driverUnderTest(): { driver: RedisQueueDriver; queue: string } {
    const prefix = `wrong-type-${randomBytes(3).toString('hex')}`;
    const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
    cleanups.push(async () => {
      await deleteKeys(driver.redis, prefix);
      await driver.close();
    });
    return { driver, queue: 'jobs' };
  }

  /** What a call on the job of `key` alone is refused with. */
  const refusal = (key: string) => ({
    code: 'E_REDIS_WRONG_TYPE',
    message: expect.stringContaining(`Redis key ${key}, the record of job `),
  });

  /** Replaces the hash of job `id` with a string, as someone at redis-cli could. */
  async function spoil(driver: RedisQueueDriver, queue: string, id: string): Promise<string> {
    const key = driver.keys.job(queue, id);
    await driver.redis.del(key);
    await driver.redis.set(key, 'not a hash');
    return key;
  }

  /** Pushes and reserves `ids`, then spoils the key of `spoiled`. */
  async function reservedWithOneSpoiled(ids: string[], spoiled: string) {
    const { driver, queue } = driverUnderTest();
    await driver.push(ids.map((id) => newJob(queue, id)));
    const { jobs } = await driver.reserve(queue, { ...reserveOptions, count: ids.length });
    expect(jobs.map((job) => job.id)).toEqual(ids);
    const key = await spoil(driver, queue, spoiled);
    return { driver, queue, leases: jobs.map(leaseOf), key };
  }

  it('a lease renewal with a job key of another type renews the other jobs and answers that one lost', async () => {
    const { driver, queue, leases, key } = await reservedWithOneSpoiled(['e1', 'e2', 'e3'], 'e2');
    const deadline = async (id: string) =>
      Number(await driver.redis.zscore(driver.keys.queue(queue).active, id));
    const before = await deadline('e3');

    expect(await driver.extend(leases, 120_000, { started: 3 })).toEqual(['ok', 'lost', 'ok']);
    expect(await deadline('e1')).toBeGreaterThan(before + 60_000);
    expect(await deadline('e3')).toBeGreaterThan(before + 60_000);
    expect(await deadline('e2')).toBe(before);
    for (const lease of [leases[0]!, leases[2]!]) {
      expect(await driver.redis.hget(driver.keys.job(queue, lease.id), 'ran')).toBe(lease.token);
    }
    expect(await driver.redis.get(key)).toBe('not a hash');
    expect(await driver.extend(leases, 120_000)).toEqual(['ok', 'lost', 'ok']);
  });

  it('a release batch with a job key of another type hands back the other jobs', async () => {
    const { driver, queue, leases, key } = await reservedWithOneSpoiled(['r1', 'r2', 'r3'], 'r2');

    expect(await driver.release(leases, { started: 3 })).toEqual(['queued', 'lost', 'queued']);
    expect(await driver.counts(queue)).toMatchObject({ waiting: 2, running: 1 });
    expect(await driver.redis.get(key)).toBe('not a hash');
    // sent again (its reply lost), and with a lease no longer its own: the first answers
    expect(await driver.release(leases)).toEqual(['queued', 'lost', 'queued']);
    const notOurs = { ...leases[1]!, token: 'another-token' };
    expect(await driver.release([leases[0]!, notOurs, leases[2]!])).toEqual(['queued', 'lost', 'queued']);
    const { jobs } = await driver.reserve(queue, reserveOptions);
    expect(jobs.map((job) => job.id)).toEqual(['r1', 'r3']);
  });

  it('retrying failed jobs with a record key of another type moves the others and reports that one missing', async () => {
    const { driver, queue } = driverUnderTest();
    const ids = ['y1', 'y2', 'y3', 'y4'];
    await driver.push(ids.map((id) => newJob(queue, id)));
    const { jobs } = await driver.reserve(queue, reserveOptions);
    for (const job of jobs) {
      expect(await driver.fail({ lease: leaseOf(job), error: { message: 'boom' }, retryInMs: null })).toEqual(
        {
          outcome: 'failed',
        },
      );
    }
    const y2 = await spoil(driver, queue, 'y2');
    await spoil(driver, queue, 'y4');

    const moved: string[] = [];
    const outcome = await driver.retryFailed(queue, { ids: ['y3', 'y4'] }, (batch) =>
      moved.push(...batch.map((job) => job.id)),
    );
    expect(outcome).toEqual({ retried: 1, expired: [], missing: ['y4'] });
    expect(
      await driver.retryFailed(queue, { all: true }, (batch) => moved.push(...batch.map((job) => job.id))),
    ).toEqual({ retried: 1, expired: [], missing: [] });
    expect(moved).toEqual(['y3', 'y1']);
    expect(await driver.counts(queue)).toMatchObject({ waiting: 2, failed: 0 });
    expect(await driver.redis.get(y2)).toBe('not a hash');
  });

  it('reading records with a job key of another type reads the others and skips that one', async () => {
    const { driver, queue } = driverUnderTest();
    await driver.push(['z1', 'z2', 'z3'].map((id) => newJob(queue, id)));
    await spoil(driver, queue, 'z2');

    expect((await driver.getJob(queue, 'z1'))?.status).toBe('queued');
    expect((await driver.listJobs(queue, 'queued', 0, 10)).map((record) => record.id)).toEqual(['z1', 'z3']);
    expect(await driver.getJob(queue, 'gone')).toBeUndefined();
  });

  it('reading a job by id whose key holds another type fails with E_REDIS_WRONG_TYPE naming the key, not as not found', async () => {
    const { driver, queue } = driverUnderTest();
    await driver.push([newJob(queue, 'z1')]);
    const key = await spoil(driver, queue, 'z1');

    await expect(driver.getJob(queue, 'z1')).rejects.toMatchObject(refusal(key));
    expect(await driver.redis.get(key)).toBe('not a hash');
  });

  it('job:cancel, job:release and job:show through the job manager on a job key of another type fail with E_REDIS_WRONG_TYPE naming the key', async () => {
    const { driver, queue } = driverUnderTest();
    await driver.push([newJob(queue, 'm1'), newJob(queue, 'm2', { hold: true })]);
    const queued = await spoil(driver, queue, 'm1');
    const held = await spoil(driver, queue, 'm2');
    const jobs = new JobManager(driver);

    await expect(jobs.cancel('m1')).rejects.toMatchObject(refusal(queued));
    await expect(jobs.release('m2', queue)).rejects.toMatchObject(refusal(held));
    await expect(jobs.find('m2')).rejects.toMatchObject(refusal(held));
    expect(await driver.counts(queue)).toMatchObject({ waiting: 1, pending: 1 });
    expect(await driver.redis.zcard(driver.keys.queue(queue).cancelled)).toBe(0);
  });

  it('finding a job without its queue finds it in one queue though another holds a key of another type at its id', async () => {
    const { driver, queue } = driverUnderTest();
    await driver.push([newJob(queue, 'both'), newJob('other', 'both')]);
    await spoil(driver, 'other', 'both');
    const jobs = new JobManager(driver);

    expect(await jobs.find('both')).toMatchObject({ id: 'both', queue, status: 'queued' });
  });

  it('a push of a job whose key holds another type stores the rest and refuses that one with E_REDIS_WRONG_TYPE naming its key', async () => {
    const { driver, queue } = driverUnderTest();
    const key = await spoil(driver, queue, 'taken');
    const jobs = ['a', 'taken', 'b'].map((id) => newJob(queue, id, { pushToken: `push-${id}` }));

    await expect(driver.push(jobs)).rejects.toMatchObject({
      code: 'E_REDIS_WRONG_TYPE',
      message: expect.stringContaining(
        `Redis key ${key}, where job taken of queue "${queue}" would be stored`,
      ),
    });
    expect(await driver.counts(queue)).toMatchObject({ waiting: 2 });
    expect(await driver.redis.get(key)).toBe('not a hash');
    // the key cleared, the same push sent again: the jobs its first try stored are answered as then
    await driver.redis.del(key);
    expect(await driver.push(jobs)).toEqual(['queued', 'queued', 'queued']);
    expect(await driver.counts(queue)).toMatchObject({ waiting: 3 });
  });

  it('cancelling a job whose key holds another type fails with E_REDIS_WRONG_TYPE naming the key, writing nothing', async () => {
    const { driver, queue } = driverUnderTest();
    await driver.push([newJob(queue, 'c1')]);
    const key = await spoil(driver, queue, 'c1');
    await expect(driver.cancel(queue, 'c1')).rejects.toMatchObject(refusal(key));
    expect(await driver.counts(queue)).toMatchObject({ waiting: 1 });
    expect(await driver.redis.zcard(driver.keys.queue(queue).cancelled)).toBe(0);
  });

  it('releasing a held job whose key holds another type fails with E_REDIS_WRONG_TYPE naming the key, writing nothing', async () => {
    const { driver, queue } = driverUnderTest();
    await driver.push([newJob(queue, 'h1', { hold: true })]);
    const key = await spoil(driver, queue, 'h1');
    await expect(driver.releaseHeld(queue, 'h1')).rejects.toMatchObject(refusal(key));
    expect(await driver.counts(queue)).toMatchObject({ pending: 1, waiting: 0 });
  });

  it('failing an attempt of a job whose key holds another type fails with E_REDIS_WRONG_TYPE naming the key, writing nothing', async () => {
    const { driver, queue, leases, key } = await reservedWithOneSpoiled(['f1'], 'f1');
    const failure = { lease: leases[0]!, error: { message: 'boom' }, retryInMs: 0 };
    await expect(driver.fail(failure)).rejects.toMatchObject(refusal(key));
    expect(await driver.counts(queue)).toMatchObject({ running: 1, waiting: 0, failed: 0 });
  });

  it('storing the progress of a job whose key holds another type fails with E_REDIS_WRONG_TYPE naming the key', async () => {
    const { driver, leases, key } = await reservedWithOneSpoiled(['p1'], 'p1');
    await expect(driver.progress(leases[0]!, 50, 'half')).rejects.toMatchObject(refusal(key));
    expect(await driver.redis.get(key)).toBe('not a hash');
  });
});

/**
 * A queue key the job would go into (its wait, delayed, failed or cancelled set) holding another
 * type, or the queue's order counter (seq) holding no integer. Redis keeps the writes a script
 * made before it failed: a script taking a job out of one set and then refused by the next
 * would leave the job in none, its lease deleted, and nothing would ever run or reclaim it. Each
 * call fails before its first write instead, with `E_REDIS_WRONG_TYPE` naming the key.
 */
describe('RedisQueueDriver with a queue key of another type or a damaged order counter', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function driverUnderTest(): { driver: RedisQueueDriver; queue: string; keys: QueueKeys } {
    const prefix = `wrong-type-q-${randomBytes(3).toString('hex')}`;
    const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
    cleanups.push(async () => {
      await deleteKeys(driver.redis, prefix);
      await driver.close();
    });
    return { driver, queue: 'jobs', keys: driver.keys.queue('jobs') };
  }

  type Damaged = 'seq' | 'wait' | 'delayed' | 'failed' | 'cancelled' | 'expired';

  /** Damages `name`: the order counter holds a word, a set is replaced by a string. */
  async function damage(driver: RedisQueueDriver, keys: QueueKeys, name: Damaged): Promise<string> {
    const key = keys[name];
    await driver.redis.del(key);
    await driver.redis.set(key, name === 'seq' ? 'abc' : 'not a sorted set');
    return key;
  }

  /** What a call is refused with for the damaged key `key`. */
  const refusedFor = (name: Damaged, key: string) => ({
    code: 'E_REDIS_WRONG_TYPE',
    message: expect.stringContaining(
      name === 'seq'
        ? `Redis key ${key}, the order counter of queue "jobs", holds no integer`
        : `Redis key ${key} of queue "jobs" holds a string, not a zset`,
    ),
  });

  /** Where job `id` is: its status, the sets that hold it, its lease. */
  async function whereIs(driver: RedisQueueDriver, keys: QueueKeys, id: string) {
    const sets: string[] = [];
    for (const name of ['wait', 'delayed', 'active', 'pending', 'failed', 'cancelled', 'expired'] as const) {
      const type = await driver.redis.type(keys[name]);
      if (type === 'zset' && (await driver.redis.zscore(keys[name], id)) !== null) sets.push(name);
    }
    const status = await driver.redis.hget(`${keys.job}${id}`, 'status');
    return { status, sets, lease: await driver.redis.hget(keys.leases, id) };
  }

  it.each([
    ['seq', 0, 'retrying'],
    ['wait', 0, 'retrying'],
    ['delayed', 60_000, 'retrying'],
    ['failed', null, 'failed'],
  ] as const)(
    'failing an attempt with a damaged %s key fails with E_REDIS_WRONG_TYPE naming it and leaves the job leased',
    async (name, retryInMs, outcome) => {
      const { driver, queue, keys } = driverUnderTest();
      await driver.push([newJob(queue, 'f1', { maxTries: 3 })]);
      const { jobs } = await driver.reserve(queue, reserveOptions);
      const lease = leaseOf(jobs[0]!);
      const key = await damage(driver, keys, name);
      const failure = { lease, error: { message: 'boom' }, retryInMs };

      await expect(driver.fail(failure)).rejects.toMatchObject(refusedFor(name, key));
      expect(await whereIs(driver, keys, 'f1')).toEqual({
        status: 'running',
        sets: ['active'],
        lease: lease.token,
      });
      expect(await driver.redis.hget(`${keys.job}f1`, 'error')).toBeNull();
      // mended, the same attempt is failed again and recorded
      await driver.redis.del(key);
      expect((await driver.fail(failure)).outcome).toBe(outcome);
    },
  );

  it('failing an attempt whose cancel was requested, with the cancelled set damaged, leaves the job leased', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'f2', { maxTries: 3 })]);
    const { jobs } = await driver.reserve(queue, reserveOptions);
    const lease = leaseOf(jobs[0]!);
    expect(await driver.cancel(queue, 'f2')).toBe('running');
    const key = await damage(driver, keys, 'cancelled');

    await expect(driver.fail({ lease, error: { message: 'boom' }, retryInMs: 0 })).rejects.toMatchObject(
      refusedFor('cancelled', key),
    );
    expect(await whereIs(driver, keys, 'f2')).toEqual({
      status: 'running',
      sets: ['active'],
      lease: lease.token,
    });
  });

  it.each(['seq', 'wait'] as const)(
    'retrying failed jobs with a damaged %s key fails with E_REDIS_WRONG_TYPE naming it and leaves them failed',
    async (name) => {
      const { driver, queue, keys } = driverUnderTest();
      await driver.push([newJob(queue, 'y1'), newJob(queue, 'y2')]);
      const { jobs } = await driver.reserve(queue, reserveOptions);
      for (const job of jobs)
        await driver.fail({ lease: leaseOf(job), error: { message: 'boom' }, retryInMs: null });
      const key = await damage(driver, keys, name);

      await expect(driver.retryFailed(queue, { all: true })).rejects.toMatchObject(refusedFor(name, key));
      await expect(driver.retryFailed(queue, { ids: ['y2'] })).rejects.toMatchObject(refusedFor(name, key));
      for (const id of ['y1', 'y2']) {
        expect(await whereIs(driver, keys, id)).toEqual({ status: 'failed', sets: ['failed'], lease: null });
      }
      await driver.redis.del(key);
      expect(await driver.retryFailed(queue, { all: true })).toEqual({
        retried: 2,
        expired: [],
        missing: [],
      });
    },
  );

  it.each(['seq', 'wait'] as const)(
    'releasing a held job with a damaged %s key fails with E_REDIS_WRONG_TYPE naming it and leaves the job pending',
    async (name) => {
      const { driver, queue, keys } = driverUnderTest();
      await driver.push([newJob(queue, 'h1', { hold: true })]);
      const key = await damage(driver, keys, name);

      await expect(driver.releaseHeld(queue, 'h1')).rejects.toMatchObject(refusedFor(name, key));
      expect(await whereIs(driver, keys, 'h1')).toEqual({
        status: 'pending',
        sets: ['pending'],
        lease: null,
      });
      await driver.redis.del(key);
      expect(await driver.releaseHeld(queue, 'h1')).toBe('queued');
    },
  );

  it('releasing a held job due later with a damaged delayed set leaves the job pending', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'h2', { hold: true, runAt: Date.now() + 3_600_000 })]);
    const key = await damage(driver, keys, 'delayed');

    await expect(driver.releaseHeld(queue, 'h2')).rejects.toMatchObject(refusedFor('delayed', key));
    expect(await whereIs(driver, keys, 'h2')).toEqual({ status: 'pending', sets: ['pending'], lease: null });
  });

  it('cancelling a queued job with a damaged cancelled set fails with E_REDIS_WRONG_TYPE naming it and leaves the job queued', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'c1')]);
    const key = await damage(driver, keys, 'cancelled');

    await expect(driver.cancel(queue, 'c1')).rejects.toMatchObject(refusedFor('cancelled', key));
    expect(await whereIs(driver, keys, 'c1')).toEqual({ status: 'queued', sets: ['wait'], lease: null });
  });

  it('handing back leased jobs with a damaged wait set fails before any write and leaves them leased', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'r1'), newJob(queue, 'r2')]);
    const { jobs } = await driver.reserve(queue, reserveOptions);
    const key = await damage(driver, keys, 'wait');

    await expect(driver.release(jobs.map(leaseOf))).rejects.toMatchObject(refusedFor('wait', key));
    for (const job of jobs) {
      expect(await whereIs(driver, keys, job.id)).toEqual({
        status: 'running',
        sets: ['active'],
        lease: job.token,
      });
    }
  });

  it('a reserve that would reclaim a lapsed lease into a damaged wait set fails before taking it out of the active set', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'l1', { maxTries: 3 })]);
    const { jobs } = await driver.reserve(queue, { ...reserveOptions, leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const key = await damage(driver, keys, 'wait');

    await expect(driver.reserve(queue, reserveOptions)).rejects.toMatchObject(refusedFor('wait', key));
    expect(await whereIs(driver, keys, 'l1')).toEqual({
      status: 'running',
      sets: ['active'],
      lease: jobs[0]!.token,
    });
  });

  it('a reserve that would promote a delayed job come due, with the wake-up list damaged, fails before moving it', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'p1', { runAt: Date.now() + 50 })]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await driver.redis.del(keys.signal);
    await driver.redis.set(keys.signal, 'not a list');

    await expect(driver.reserve(queue, reserveOptions)).rejects.toMatchObject({
      code: 'E_REDIS_WRONG_TYPE',
      message: expect.stringContaining(`Redis key ${keys.signal} of queue "jobs" holds a string, not a list`),
    });
    // not moved to the wait set first (a seq or wait set of another type fails at its first write)
    expect(await whereIs(driver, keys, 'p1')).toEqual({ status: 'delayed', sets: ['delayed'], lease: null });
    await driver.redis.del(keys.signal);
    const { jobs } = await driver.reserve(queue, reserveOptions);
    expect(jobs.map((job) => job.id)).toEqual(['p1']);
  });

  it('a reserve that pops a job past its expiresAt with the expired set damaged fails before popping anything', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([
      newJob(queue, 'x1'),
      newJob(queue, 'x2', { expiresAt: Date.now() + 50 }),
      newJob(queue, 'x3'),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const key = await damage(driver, keys, 'expired');

    await expect(driver.reserve(queue, reserveOptions)).rejects.toMatchObject(refusedFor('expired', key));
    for (const id of ['x1', 'x2', 'x3']) {
      expect(await whereIs(driver, keys, id)).toEqual({ status: 'queued', sets: ['wait'], lease: null });
    }
    await driver.redis.del(keys.expired);
    const { jobs } = await driver.reserve(queue, reserveOptions);
    expect(jobs.map((job) => job.id)).toEqual(['x1', 'x3']);
  });

  it('a reserve that would fail a reclaimed job, with the expired set damaged, fails before taking it out of the active set', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'a1', { maxTries: 1 })]);
    const { jobs } = await driver.reserve(queue, { ...reserveOptions, leaseMs: 50 });
    // known to start, on its last try: the reserve that reclaims it fails it
    await driver.extend(jobs.map(leaseOf), 50, { started: 1 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    await driver.push([newJob(queue, 'w1')]);
    const key = await damage(driver, keys, 'expired');

    await expect(driver.reserve(queue, reserveOptions)).rejects.toMatchObject(refusedFor('expired', key));
    expect(await whereIs(driver, keys, 'a1')).toEqual({
      status: 'running',
      sets: ['active'],
      lease: jobs[0]!.token,
    });
    await driver.redis.del(key);
    const { abandoned } = await driver.reserve(queue, reserveOptions);
    expect(abandoned.map((record) => record.id)).toEqual(['a1']);
  });

  it('a reserve sent again and refused for a damaged key keeps the latest call number, so a later call sent again is still known as one', async () => {
    const { driver, queue, keys } = driverUnderTest();
    // the script as a driver calls it, numbered by hand: calls 1 and 2 lose their replies
    const call = (number: number) =>
      runScript<[string[]]>(driver.redis, 'reserve_jobs', reserveScriptKeys(keys, 'T'), [
        keys.job,
        1,
        30_000,
        `T${number}`,
        'w1',
        3,
        100,
        0,
        100,
        number,
        3,
        100,
      ]);
    await driver.push(['j1', 'j2', 'j3'].map((id) => newJob(queue, id)));
    await call(1);
    await call(2);
    const key = await damage(driver, keys, 'failed');
    await expect(call(1)).rejects.toThrow(/WRONGTYPE/);
    await driver.redis.del(key);

    // sent again, call 2 gets its own job back, not a new one
    const [lines] = await call(2);
    expect(lines.map((line) => line.split('\n')[0])).toEqual(['j2']);
    expect(await driver.redis.hget(keys.leases, 'j3')).toBeNull();
  });

  it.each(['completed', 'completedTimes'] as const)(
    'completing with the %s list of another type fails before taking the job out of the active set',
    async (name) => {
      const { driver, queue, keys } = driverUnderTest();
      await driver.push([newJob(queue, 'c1')]);
      const { jobs } = await driver.reserve(queue, reserveOptions);
      await driver.redis.set(keys[name], 'not a list');

      await expect(driver.complete([{ lease: leaseOf(jobs[0]!), result: 'null' }])).rejects.toMatchObject({
        code: 'E_REDIS_WRONG_TYPE',
        message: expect.stringContaining(
          `Redis key ${keys[name]} of queue "jobs" holds a string, not a list`,
        ),
      });
      expect(await whereIs(driver, keys, 'c1')).toEqual({
        status: 'running',
        sets: ['active'],
        lease: jobs[0]!.token,
      });
      await driver.redis.del(keys[name]);
      expect(await driver.complete([{ lease: leaseOf(jobs[0]!), result: 'null' }])).toEqual([true]);
    },
  );

  it('reading a running job with the leases hash of another type fails with E_REDIS_WRONG_TYPE naming the key', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'r1')]);
    await driver.reserve(queue, reserveOptions);
    await driver.redis.del(keys.leases);
    await driver.redis.set(keys.leases, 'not a hash');

    await expect(driver.getJob(queue, 'r1')).rejects.toMatchObject({
      code: 'E_REDIS_WRONG_TYPE',
      message: expect.stringContaining(`Redis key ${keys.leases} of queue "jobs" holds a string, not a hash`),
    });
  });

  it.each([
    ['completed', 'list'],
    ['failed', 'zset'],
  ] as const)(
    'counting the jobs of a queue (queue:size) and listing them (job:list) with its %s key of another type fail with E_REDIS_WRONG_TYPE naming it',
    async (name, expected) => {
      const { driver, queue, keys } = driverUnderTest();
      await driver.push([newJob(queue, 'c1')]);
      await driver.redis.set(keys[name], 'oops');
      const refused = {
        code: 'E_REDIS_WRONG_TYPE',
        message: expect.stringContaining(
          `Redis key ${keys[name]} of queue "jobs" holds a string, not a ${expected}`,
        ),
      };

      await expect(driver.counts(queue)).rejects.toMatchObject(refused);
      await expect(new JobManager(driver).listPage({ queue })).rejects.toMatchObject(refused);
    },
  );

  it('completing with a queue:stats counter damaged by hand completes the jobs', async () => {
    const { driver, queue, keys } = driverUnderTest();
    await driver.push([newJob(queue, 'd1')]);
    const { jobs } = await driver.reserve(queue, reserveOptions);
    const now = Number(await driver.now());
    // the counters of this 10-second bucket and the next, should the call land there
    for (const at of [now, now + 10_000])
      await driver.redis.set(`${keys.doneBucket}${Math.floor(at / 10_000)}`, 'x');

    expect(await driver.complete([{ lease: leaseOf(jobs[0]!), result: 'null' }])).toEqual([true]);
    expect(await driver.getJob(queue, 'd1')).toMatchObject({ status: 'completed' });
  });

  it.each([
    ['leases', 'hash'],
    ['signal', 'list'],
  ] as const)(
    'a reserve with the %s key of another type fails before popping anything, and leases nothing',
    async (name, expected) => {
      const { driver, queue, keys } = driverUnderTest();
      await driver.push([newJob(queue, 's1'), newJob(queue, 's2')]);
      const key = keys[name];
      await driver.redis.del(key);
      await driver.redis.set(key, 'not what Topiq keeps there');

      await expect(driver.reserve(queue, { ...reserveOptions, count: 1 })).rejects.toMatchObject({
        code: 'E_REDIS_WRONG_TYPE',
        message: expect.stringContaining(
          `Redis key ${key} of queue "jobs" holds a string, not a ${expected}`,
        ),
      });
      await driver.redis.del(key);
      for (const id of ['s1', 's2']) {
        expect(await whereIs(driver, keys, id)).toEqual({ status: 'queued', sets: ['wait'], lease: null });
      }
      const { jobs } = await driver.reserve(queue, { ...reserveOptions, count: 2 });
      expect(jobs.map((job) => job.id)).toEqual(['s1', 's2']);
    },
  );
});

describe('job:cancel, job:release and job:show on a job key of another type', () => {
  const prefix = uniquePrefix();
  const env = cliEnv(prefix);
  afterAll(async () => {
    await deletePrefix(prefix);
  });

  const run = (argv: string[]) => runInProcess(argv, env);

  it('print E_REDIS_WRONG_TYPE naming the key and exit 1, instead of E_JOB_NOT_FOUND', async () => {
    const driver = new RedisQueueDriver({ connection: REDIS_URL, prefix });
    const queue = 'cli';
    try {
      await driver.push([newJob(queue, 'k1'), newJob(queue, 'k2', { hold: true })]);
      for (const id of ['k1', 'k2']) await driver.redis.set(driver.keys.job(queue, id), 'not a hash');
    } finally {
      await driver.close();
    }
    for (const [argv, id] of [
      [['job:cancel', 'k1'], 'k1'],
      [['job:release', 'k2', `--queue=${queue}`], 'k2'],
      [['job:show', 'k1'], 'k1'],
    ] as const) {
      const { code, err } = await run([...argv]);
      expect(err).toContain(
        `E_REDIS_WRONG_TYPE: Redis key ${prefix}:{${queue}}:job:${id}, the record of job ${id}`,
      );
      expect(code).toBe(ExitCode.failure);
    }
  });
});
