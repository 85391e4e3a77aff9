/**
 * A job key that holds another type (its hash replaced by hand, or by another program under the
 * same prefix). Redis does not roll a script back, so a call on it must neither fail halfway,
 * after writes it keeps, nor fail the other jobs of its batch: a batch takes that job as gone
 * and goes on; a call on that job alone fails before any write with `E_REDIS_WRONG_TYPE`,
 * naming the key. (Reserve and complete: redis_driver.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lease, ReservedJob } from '../../../core/queue/driver.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { newJob } from '../../support/new_job.js';
import { deleteKeys } from '../../support/redis_keys.js';

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

  it('reading records with a job key of another type reads the others and takes that one as not found', async () => {
    const { driver, queue } = driverUnderTest();
    await driver.push(['z1', 'z2', 'z3'].map((id) => newJob(queue, id)));
    await spoil(driver, queue, 'z2');

    expect(await driver.getJob(queue, 'z2')).toBeUndefined();
    expect((await driver.getJob(queue, 'z1'))?.status).toBe('queued');
    expect((await driver.listJobs(queue, 'queued', 0, 10)).map((record) => record.id)).toEqual(['z1', 'z3']);
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

  /** What a call on the job of `key` alone is refused with. */
  const refusal = (key: string) => ({
    code: 'E_REDIS_WRONG_TYPE',
    message: expect.stringContaining(`Redis key ${key}, the record of job `),
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
