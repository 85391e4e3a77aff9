import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_STALLS,
  type NewJob,
  RECLAIMS_PER_RESERVE,
  type RetentionSettings,
} from '../../../core/queue/driver.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { reserveScriptKeys } from '../../../core/queue/drivers/redis/redis_reserve.js';
import { runScript } from '../../../core/queue/drivers/redis/scripts.js';
import { sleep } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { defineDriverContract } from './driver_contract.js';

/** A driver on the test Redis under the test prefix. */
const redisDriver = (retention: Partial<RetentionSettings> = {}, options: { failedCount?: number } = {}) =>
  new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test', retention, ...options });

defineDriverContract('redis', redisDriver);

/** A driver and a queue of its own, whose keys are deleted after the enclosing block. */
function queueUnderTest(name: string): { queue: string; driver: RedisQueueDriver } {
  const queue = `${name}-${process.pid}`;
  const driver = redisDriver();
  afterAll(async () => {
    await deleteKeys(driver.redis, `topiq-test:{${queue}}`);
    await driver.close();
  });
  return { queue, driver };
}

const reserveOptions = { count: 10, leaseMs: 30_000, worker: 'w1', defaultMaxTries: 3 };
/** A job to push: a registered-looking name and an empty payload. */
const newJob = (queue: string, id: string, extra: Partial<NewJob> = {}): NewJob => ({
  id,
  name: 'EchoJob',
  queue,
  payload: '{}',
  maxTries: 3,
  priority: 0,
  ...extra,
});

describe('redis driver: completed records', () => {
  const { queue, driver } = queueUnderTest('completed-records');
  const job = (id: string) => newJob(queue, id);

  it('does not count a leftover entry of an earlier job with the same id as this one completed', async () => {
    await driver.push([job('reused')]);
    const [first] = (await driver.reserve(queue, reserveOptions)).jobs;
    expect(
      await driver.complete([{ lease: { id: 'reused', queue, token: first!.token }, result: 'null' }]),
    ).toEqual([true]);
    // the record is dropped by hand while its id stays in the completed list; the id is dispatched again
    await driver.redis.del(driver.keys.job(queue, 'reused'));
    await sleep(5);
    expect(await driver.push([job('reused')])).toEqual(['queued']);
    const [second] = (await driver.reserve(queue, reserveOptions)).jobs;
    expect((await driver.getJob(queue, 'reused'))?.status).toBe('running');
    const lease = { id: 'reused', queue, token: second!.token };
    expect(await driver.complete([{ lease, result: '7' }])).toEqual([true]);
    expect(await driver.getJob(queue, 'reused')).toMatchObject({ status: 'completed', result: 7 });
  });
});

describe('redis driver: completed records trimming', () => {
  const { queue, driver } = queueUnderTest('completed-trim');
  const others: RedisQueueDriver[] = [];
  afterAll(async () => {
    await Promise.all(others.map((other) => other.close()));
  });
  const withRetention = (retention: Partial<RetentionSettings>) => {
    const other = redisDriver(retention);
    others.push(other);
    return other;
  };
  const run = async (by: RedisQueueDriver, ids: string[]) => {
    await by.push(ids.map((id) => newJob(queue, id)));
    const { jobs } = await by.reserve(queue, { ...reserveOptions, count: ids.length });
    await by.complete(jobs.map((j) => ({ lease: { id: j.id, queue, token: j.token }, result: 'null' })));
  };

  it('drops at most 1,000 records per call when the bound is lowered, oldest first, reaching it over the next calls', async () => {
    const ids = Array.from({ length: 1200 }, (_, i) => `j${i}`);
    await run(withRetention({ completedCount: 5000 }), ids);
    expect((await driver.counts(queue)).completed).toBe(1200);
    const lowered = withRetention({ completedCount: 10 });
    await run(lowered, ['next1']);
    expect((await driver.counts(queue)).completed).toBe(201);
    expect(await driver.getJob(queue, 'j999')).toBeUndefined();
    expect((await driver.getJob(queue, 'j1000'))?.status).toBe('completed');
    await run(lowered, ['next2']);
    expect((await driver.counts(queue)).completed).toBe(10);
    const kept = (await driver.listJobs(queue, 'completed', 0, 20)).map((r) => r.id);
    expect(kept).toEqual(['next2', 'next1', ...ids.slice(-8).reverse()]);
  });

  it('drops the records kept under an earlier bound once a worker keeps none', async () => {
    await run(withRetention({ completedCount: 100 }), ['kept1', 'kept2']);
    expect((await driver.getJob(queue, 'kept1'))?.status).toBe('completed');
    await run(withRetention({ completedCount: 0 }), ['unkept']);
    for (const id of ['kept1', 'kept2', 'unkept']) expect(await driver.getJob(queue, id)).toBeUndefined();
    expect((await driver.counts(queue)).completed).toBe(0);
  });

  it('drops every record past the age bound in one call', async () => {
    const aging = withRetention({ completedAgeMs: 50 });
    const ids = Array.from({ length: 300 }, (_, i) => `old${i}`);
    await run(aging, ids);
    await sleep(80);
    await run(aging, ['fresh']);
    expect((await driver.counts(queue)).completed).toBe(1);
    expect(await driver.getJob(queue, 'old299')).toBeUndefined();
    expect((await driver.getJob(queue, 'fresh'))?.status).toBe('completed');
  });

  it('refuses a second acknowledgement of a completed attempt and keeps one record with its finish time', async () => {
    const by = withRetention({});
    await by.push([newJob(queue, 'acked')]);
    const [reserved] = (await by.reserve(queue, reserveOptions)).jobs;
    const lease = { id: 'acked', queue, token: reserved!.token };
    const before = Date.now();
    expect(await by.complete([{ lease, result: 'null' }])).toEqual([true]);
    const after = Date.now();
    expect(await by.complete([{ lease, result: '5' }])).toEqual([false]);
    expect(await by.extend([lease], 30_000)).toEqual(['lost']);
    const ids = await driver.redis.lrange(driver.keys.queue(queue).completed, 0, -1);
    expect(ids.filter((id) => id === 'acked')).toHaveLength(1);
    const record = await driver.getJob(queue, 'acked');
    expect(record).toMatchObject({ status: 'completed', result: null });
    expect(record?.finishedAt).toBeGreaterThanOrEqual(before - 5);
    expect(record?.finishedAt).toBeLessThanOrEqual(after + 5);
  });
});

describe('redis driver: cancelled and failed records trimming', () => {
  const { queue, driver } = queueUnderTest('finished-trim');
  const keeping = redisDriver({ completedCount: 5000 });
  const keepingNone = redisDriver({ completedCount: 0 });
  const failedTwo = new RedisQueueDriver({
    connection: 'redis://127.0.0.1:6379',
    prefix: 'topiq-test',
    failedCount: 2,
  });
  afterAll(async () => {
    await Promise.all([keeping.close(), keepingNone.close(), failedTwo.close()]);
  });
  const keys = driver.keys.queue(queue);
  // the failed-set test has a queue of its own, so either test fails alone
  const failedQueue = queueUnderTest('failed-trim').queue;
  const failedKeys = driver.keys.queue(failedQueue);
  /** Those of `ids` whose job hash in `hashPrefix` is gone. */
  const withoutHash = async (ids: string[], hashPrefix = keys.job) => {
    const exists = await Promise.all(ids.map((id) => driver.redis.exists(`${hashPrefix}${id}`)));
    return ids.filter((_, index) => exists[index] === 0);
  };

  it('drops the cancelled records kept under an earlier bound once a driver keeps none, 1,000 per call', async () => {
    const ids = Array.from({ length: 1200 }, (_, i) => `c${i}`);
    await keeping.push(ids.map((id) => newJob(queue, id)));
    for (const id of ids) await keeping.cancel(queue, id);
    expect(await driver.redis.zcard(keys.cancelled)).toBe(1200);
    await keepingNone.push([newJob(queue, 'late1'), newJob(queue, 'late2')]);
    expect(await keepingNone.cancel(queue, 'late1')).toBe('cancelled');
    const left = await driver.redis.zrange(keys.cancelled, 0, -1);
    expect(left).toHaveLength(200);
    const dropped = ids.filter((id) => !left.includes(id));
    expect(await withoutHash(dropped)).toEqual(dropped);
    expect(await withoutHash(left)).toEqual([]);
    expect(await keepingNone.cancel(queue, 'late2')).toBe('cancelled');
    expect(await driver.redis.zcard(keys.cancelled)).toBe(0);
    expect(await withoutHash([...ids, 'late1', 'late2'])).toHaveLength(1202);
  });

  it('keeps the failed set within its bound when jobs abandoned on their last try enter it', async () => {
    const abandon = async (ids: string[]) => {
      await failedTwo.push(ids.map((id) => newJob(failedQueue, id, { maxTries: 1 })));
      const { jobs } = await failedTwo.reserve(failedQueue, { ...reserveOptions, leaseMs: 1 });
      expect(jobs).toHaveLength(ids.length);
      // started (a renewal said so), so their leases' ends count their last tries
      await failedTwo.extend(
        jobs.map((job) => ({ id: job.id, queue: failedQueue, token: job.token })),
        1,
        { started: jobs.length },
      );
      await sleep(20);
      return (await failedTwo.reserve(failedQueue, reserveOptions)).abandoned
        .map((record) => record.id)
        .sort();
    };
    // more abandoned at once than the bound: every record is still there for the caller to read
    expect(await abandon(['f1', 'f2', 'f3'])).toEqual(['f1', 'f2', 'f3']);
    expect(await abandon(['f4'])).toEqual(['f4']);
    expect(await driver.redis.zcard(failedKeys.failed)).toBe(2);
    expect(await withoutHash(['f1', 'f2', 'f3', 'f4'], failedKeys.job)).toHaveLength(2);
  });
});

describe('redis driver: a record finished into a full set', () => {
  const { queue, driver } = queueUnderTest('full-set');
  const keepingTwo = redisDriver({ completedCount: 2 }, { failedCount: 2 });
  afterAll(() => keepingTwo.close());
  const keys = driver.keys.queue(queue);
  /** Two records already in `set` that rank above any finished now (the same millisecond, a higher id, or a clock ahead). */
  const fill = async (set: string, prefix: string) => {
    const later = Date.now() + 60_000;
    for (const id of [`${prefix}-1`, `${prefix}-2`]) {
      await driver.redis.hset(`${keys.job}${id}`, 'status', 'kept');
      await driver.redis.zadd(set, later, id);
    }
  };

  it('keeps the record of a job that fails for good, and drops the lowest-ranked of the others', async () => {
    await fill(keys.failed, 'older-failed');
    await keepingTwo.push([newJob(queue, 'failing', { maxTries: 1 })]);
    const [job] = (await keepingTwo.reserve(queue, { ...reserveOptions, count: 1 })).jobs;
    const lease = { id: 'failing', queue, token: job!.token };
    expect(await keepingTwo.fail({ lease, error: { message: 'boom' }, retryInMs: null })).toMatchObject({
      outcome: 'failed',
    });
    expect((await keepingTwo.getJob(queue, 'failing'))?.status).toBe('failed');
    expect(await driver.redis.zcard(keys.failed)).toBe(2);
  });

  it('keeps the record of a job whose id was left in the set by a record deleted by hand', async () => {
    await driver.redis.zadd(keys.cancelled, 1, 'reused'); // its hash gone, its entry not
    await driver.redis.zadd(keys.failed, 1, 'reused-f');
    await keepingTwo.push([newJob(queue, 'reused'), newJob(queue, 'reused-f', { maxTries: 1 })]);
    expect(await keepingTwo.cancel(queue, 'reused')).toBe('cancelled');
    expect((await keepingTwo.getJob(queue, 'reused'))?.status).toBe('cancelled');
    const [job] = (await keepingTwo.reserve(queue, { ...reserveOptions, count: 1 })).jobs;
    expect(job?.id).toBe('reused-f');
    await keepingTwo.fail({
      lease: { id: 'reused-f', queue, token: job!.token },
      error: { message: 'x' },
      retryInMs: null,
    });
    expect((await keepingTwo.getJob(queue, 'reused-f'))?.status).toBe('failed');
  });

  it('keeps the record of a job cancelled or expired just now', async () => {
    await fill(keys.cancelled, 'older-cancelled');
    await keepingTwo.push([newJob(queue, 'stopped')]);
    expect(await keepingTwo.cancel(queue, 'stopped')).toBe('cancelled');
    expect((await keepingTwo.getJob(queue, 'stopped'))?.status).toBe('cancelled');
    expect(await driver.redis.zcard(keys.cancelled)).toBe(2);
    await fill(keys.expired, 'older-expired');
    await keepingTwo.push([newJob(queue, 'too-late', { expiresAt: Date.now() - 1000 })]);
    await keepingTwo.reserve(queue, { ...reserveOptions, count: 1 });
    expect((await keepingTwo.getJob(queue, 'too-late'))?.status).toBe('expired');
    expect(await driver.redis.zcard(keys.expired)).toBe(2);
  });
});

describe('redis driver: expiry of reserved jobs', () => {
  const { queue, driver } = queueUnderTest('reserved-expiry');

  it("gives a reserved job's expiresAt in this process's clock, from the time left by Redis's", async () => {
    await driver.push([newJob(queue, 'timed', { expiresAt: Date.now() + 60_000 })]);
    // this process's clock an hour ahead of Redis's
    const now = Date.now;
    const skew = 3_600_000;
    Date.now = () => now() + skew;
    try {
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const left = reserved!.expiresAt! - Date.now();
      expect(left).toBeGreaterThan(55_000);
      expect(left).toBeLessThanOrEqual(60_000);
    } finally {
      Date.now = now;
    }
  });
});

describe('redis driver: a reserve call run twice', () => {
  const { queue, driver } = queueUnderTest('reserve-repeat');
  const keys = driver.keys.queue(queue);
  // the keys and arguments RedisQueueDriver sends, for one driver numbering its calls by hand
  const reserveKeys = reserveScriptKeys(keys, 'by-hand');
  /** The status changes the last call reported (id@attempt:status), for their events. */
  let changed: string[] = [];
  /** The jobs the last call failed (id:status of the record it sent) and expired (id). */
  let settled: { failed: string[]; expired: string[] } = { failed: [], expired: [] };
  const reserve = async (call: number, count: number, leaseMs: number) => {
    const reply = await runScript<string[][]>(driver.redis, 'reserve_jobs', reserveKeys, [
      ...[keys.job, count, leaseMs, `by-hand-${call}`, 'w1', 3, 1000, 0, 100, call, MAX_STALLS],
      RECLAIMS_PER_RESERVE,
    ]);
    const [lines = [], records = [], , expiredFlat = [], failedIds = [], flat = []] = reply as unknown as [
      string[],
      string[][],
      number,
      string[],
      string[],
      string[],
    ];
    changed = [];
    for (let i = 0; i < flat.length; i += 4) changed.push(`${flat[i]}@${flat[i + 2]}:${flat[i + 3]}`);
    changed.sort();
    settled = {
      failed: failedIds.map((id, index) => {
        const fields = records[index] ?? [];
        return `${id}:${fields[fields.indexOf('status') + 1]}`;
      }),
      expired: expiredFlat.filter((_, index) => index % 2 === 0),
    };
    // id@attempt
    return lines.map((line) => line.split('\n').slice(0, 2).join('@')).sort();
  };

  it('hands back what its first run leased, renewed, with as many more as it asks, but no job whose lease ended', async () => {
    await driver.push(['a', 'b', 'c', 'd', 'e'].map((id) => newJob(queue, id)));
    expect(await reserve(1, 2, 200)).toEqual(['a@1', 'b@1']);
    await sleep(100);
    // the same call again, for three: its two, their leases renewed, and one more
    expect(await reserve(1, 3, 30_000)).toEqual(['a@1', 'b@1', 'c@1']);
    expect(Number(await driver.redis.zscore(keys.active, 'a'))).toBeGreaterThan(Date.now() + 20_000);
    // and for one only: one of its three, the others back at the front of the queue, unattempted
    const [kept, ...none] = await reserve(1, 1, 30_000);
    expect(none).toEqual([]);
    expect(['a@1', 'b@1', 'c@1']).toContain(kept);
    expect(await driver.redis.zrange(keys.wait, 0, -1)).toHaveLength(4); // the two, d and e
    const back = ['a', 'b', 'c'].filter((id) => `${id}@1` !== kept);
    for (const id of back)
      expect(await driver.getJob(queue, id)).toMatchObject({ status: 'queued', attempts: 0 });
    // and reports them handed back, for their queued events
    expect(changed).toEqual(back.map((id) => `${id}@0:queued`));
    // a call whose lease has ended by its repeat: the job is reclaimed, its attempt given back
    // (it was never known to start), and goes behind the one handed back before it, which the
    // repeat hands out at attempt 1 (which of the two went first follows the leases hash's order)
    const [next] = await reserve(2, 1, 1);
    const other = back.map((id) => `${id}@1`).find((job) => job !== next);
    await sleep(20);
    expect(await reserve(2, 1, 30_000)).toEqual([other]);
    expect(await driver.redis.hget(`${keys.job}${next!.slice(0, -2)}`, 'stalls')).toBe('1');
    expect(await driver.getJob(queue, next!.slice(0, -2))).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('sends again, in a run of the call again, what its first run settled: failed, expired and queued jobs', async () => {
    await driver.clear(queue);
    // a job on its last try whose worker stopped renewing its lease after it started
    await driver.push([newJob(queue, 'dead', { maxTries: 1 })]);
    const [dead] = (await driver.reserve(queue, { ...reserveOptions, count: 1 })).jobs;
    await driver.extend([dead!], 1, { started: 1 });
    await driver.push([
      newJob(queue, 'late', { expiresAt: Date.now() - 1000 }),
      newJob(queue, 'due', { runAt: Date.now() + 20 }),
    ]);
    await sleep(50);
    // the first run: its reply is lost on the way
    expect(await reserve(30, 1, 30_000)).toEqual([]);
    const first = { changed, settled };
    expect(first).toEqual({
      changed: ['due@0:queued'],
      settled: { failed: ['dead:failed'], expired: ['late'] },
    });
    // run again, it sends them again, with the job it leases now
    expect(await reserve(30, 1, 30_000)).toEqual(['due@1']);
    expect({ changed, settled }).toEqual(first);
    // and once more, should that reply be lost too; but not to the next call
    expect(await reserve(30, 1, 30_000)).toEqual(['due@1']);
    expect({ changed, settled }).toEqual(first);
    expect(await reserve(31, 1, 30_000)).toEqual([]);
    expect({ changed, settled }).toEqual({ changed: [], settled: { failed: [], expired: [] } });
  });

  it('sends again what each of two overlapping calls settled, the earlier one sent again first', async () => {
    await driver.clear(queue);
    await driver.push([newJob(queue, 'o-a', { expiresAt: Date.now() - 1000 })]);
    expect(await reserve(40, 1, 30_000)).toEqual([]); // expires o-a; its reply is lost
    await driver.push([
      newJob(queue, 'o-b', { expiresAt: Date.now() - 1000 }),
      // not due at call 41 on a loaded machine, due at call 40's run again
      newJob(queue, 'o-c', { runAt: Date.now() + 300 }),
    ]);
    expect(await reserve(41, 1, 30_000)).toEqual([]); // expires o-b; its reply is lost too
    await sleep(350);
    // call 40 again, behind 41, finds o-c come due and leases it
    expect(await reserve(40, 1, 30_000)).toEqual(['o-c@1']);
    expect({ changed, settled }).toEqual({
      changed: ['o-c@0:queued'],
      settled: { failed: [], expired: ['o-a'] },
    });
    expect(await reserve(41, 1, 30_000)).toEqual([]);
    expect(settled.expired).toEqual(['o-b']);
  });

  it('keeps what the calls of its latest 64 numbers settled, at most twice as many', async () => {
    const kept = `${keys.reserveSettled}by-hand`;
    for (let call = 100; call <= 230; call++) {
      await driver.push([newJob(queue, `gone-${call}`, { expiresAt: Date.now() - 1000 })]);
      await reserve(call, 1, 30_000);
    }
    const numbers = (await driver.redis.hkeys(kept)).map(Number);
    expect(numbers.length).toBeLessThanOrEqual(2 * 64);
    expect(Math.min(...numbers)).toBeGreaterThan(230 - 2 * 64);
    expect(numbers).toContain(230 - 63);
    expect(await driver.redis.pttl(kept)).toBeGreaterThan(50_000);
  });

  it('ends a job it does not take cancelled when its cancel was requested, as a release does', async () => {
    await driver.clear(queue);
    await driver.push(['x1', 'x2'].map((id) => newJob(queue, id)));
    expect(await reserve(10, 2, 30_000)).toEqual(['x1@1', 'x2@1']);
    // both, as which one the repeat keeps follows the leases hash's order (a hashtable's)
    expect(await driver.cancel(queue, 'x1')).toBe('running');
    expect(await driver.cancel(queue, 'x2')).toBe('running');
    const kept = await reserve(10, 1, 30_000);
    expect(kept).toHaveLength(1);
    const other = kept[0] === 'x1@1' ? 'x2' : 'x1';
    expect(await driver.getJob(queue, other)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(changed).toEqual([`${other}@0:cancelled`]);
    // no answer is kept for a release nobody asked for: a later repeat may lease it again
    expect(await driver.redis.hkeys(`${keys.job}${other}`)).not.toContain('settled:by-hand-10');
  });
});

describe('redis driver: a complete, fail or release run twice', () => {
  const { queue, driver } = queueUnderTest('settle-repeat');
  const keys = driver.keys.queue(queue);
  // the keys and arguments RedisQueueDriver sends, for one driver numbering its calls by hand
  const completeKeys = [
    ...[keys.active, keys.completed, `${keys.doneBucket}0`, keys.leases, keys.completedTimes],
    `${keys.acked}by-hand`,
  ];
  // `waiting`: the lowest number of a failed call not yet sent again (0: none)
  const complete = (call: number, leases: readonly { id: string; token: string }[], waiting = 0) =>
    runScript<string>(driver.redis, 'complete_jobs', completeKeys, [
      ...[keys.job, 1000, 0, call, waiting, leases.length],
      ...leases.flatMap((lease) => [lease.token, 1, lease.id]),
    ]);

  it('answers a complete call run again as its first run did, for its latest 64 calls', async () => {
    await driver.push(['a', 'b', 'c'].map((id) => newJob(queue, id)));
    const leased = (await driver.reserve(queue, reserveOptions)).jobs;
    const [a, b] = leased.filter((job) => job.id !== 'c');
    expect(await complete(1, [a!, { id: 'c', token: 'not-its-token' }])).toBe('10');
    // the same call again: the first run's answer, nothing stored twice
    expect(await complete(1, [a!, { id: 'c', token: 'not-its-token' }])).toBe('10');
    expect(await driver.redis.lrange(keys.completed, 0, -1)).toEqual(['a']);
    // another call for the same lease: it is gone
    expect(await complete(2, [a!])).toBe('0');
    expect(await complete(3, [b!])).toBe('1');
    for (let call = 4; call <= 66; call++) await complete(call, []);
    expect(await driver.redis.hlen(`${keys.acked}by-hand`)).toBe(64 + 1); // and 'floor'
    expect(await driver.redis.pttl(`${keys.acked}by-hand`)).toBeGreaterThan(590_000);
    expect(await complete(3, [b!])).toBe('1'); // the 64th latest
    await complete(67, []);
    expect(await complete(3, [b!])).toBe('0'); // forgotten: answered as a new call
  });

  it('keeps the answer of a failed call until it is sent again, however many calls come between', async () => {
    const acked = `${keys.acked}by-hand`;
    await driver.redis.del(acked);
    await driver.clear(queue);
    await driver.push([newJob(queue, 'w1')]);
    const [w1] = (await driver.reserve(queue, reserveOptions)).jobs;
    expect(await complete(1, [w1!])).toBe('1'); // its reply lost: the caller waits to send it again
    // other workers on the same driver, meanwhile
    for (let call = 2; call <= 200; call++) await complete(call, [], 1);
    expect(await complete(1, [w1!])).toBe('1');
    expect(await driver.redis.hlen(acked)).toBe(200 + 1);
    // sent again: the answers kept for it go with the next call
    await complete(201, []);
    expect(await driver.redis.hlen(acked)).toBe(64 + 1);
    expect(await driver.redis.hget(acked, 'floor')).toBe('137');
  });

  it('answers a fail run again for the same lease as its first run did, and another lease lost', async () => {
    await driver.clear(queue);
    await driver.push(['f', 'r'].map((id) => newJob(queue, id)));
    const leased = (await driver.reserve(queue, reserveOptions)).jobs;
    const f = leased.find((job) => job.id === 'f')!;
    const r = leased.find((job) => job.id === 'r')!;
    const error = { message: 'boom' };
    expect((await driver.fail({ lease: f, error, retryInMs: null })).outcome).toBe('failed');
    expect((await driver.fail({ lease: f, error, retryInMs: null })).outcome).toBe('failed');
    expect((await driver.fail({ lease: { ...f, token: 'another' }, error, retryInMs: null })).outcome).toBe(
      'lost',
    );
    expect((await driver.fail({ lease: r, error, retryInMs: 0 })).outcome).toBe('retrying');
    // its next attempt runs under another lease; the old one's repeat still gets its answer
    const [again] = (await driver.reserve(queue, reserveOptions)).jobs;
    expect(again).toMatchObject({ id: 'r', attempt: 2 });
    expect((await driver.fail({ lease: r, error, retryInMs: 0 })).outcome).toBe('retrying');
    expect(await driver.getJob(queue, 'r')).toMatchObject({ status: 'running', attempts: 2 });
    // and after that attempt failed too: each attempt keeps its own answer
    expect((await driver.fail({ lease: again!, error, retryInMs: null })).outcome).toBe('failed');
    expect((await driver.fail({ lease: r, error, retryInMs: 0 })).outcome).toBe('retrying');
    expect((await driver.fail({ lease: again!, error, retryInMs: null })).outcome).toBe('failed');
    expect(await driver.getJob(queue, 'f')).toMatchObject({ status: 'failed', attempts: 1 });
    // a failed job retried by hand starts over, without the answers kept for its attempts
    const fieldsOf = async (id: string) => driver.redis.hkeys(`${keys.job}${id}`);
    expect((await fieldsOf('f')).filter((field) => field.startsWith('settled:'))).toHaveLength(1);
    expect((await driver.retryFailed(queue, { ids: ['f'] })).retried).toBe(1);
    expect((await fieldsOf('f')).filter((field) => field.startsWith('settled:'))).toEqual([]);
    expect(await driver.getJob(queue, 'f')).toMatchObject({ status: 'queued', attempts: 0, error: null });
    // however many there are: HDEL goes in chunks (unpack stops at about 8,000 values)
    const many = Array.from({ length: 9000 }, (_, i) => [`settled:t${i}`, 'retrying']).flat();
    await driver.redis.hset(`${keys.job}f`, ...many);
    await driver.redis.zadd(keys.failed, Date.now(), 'f');
    await driver.redis.zrem(keys.wait, 'f');
    expect((await driver.retryFailed(queue, { ids: ['f'] })).retried).toBe(1);
    expect((await fieldsOf('f')).filter((field) => field.startsWith('settled:'))).toEqual([]);
    expect(await driver.redis.zscore(keys.wait, 'f')).not.toBeNull();
  });

  it("answers a delayed retry with its record's run-at time, and the same when the fail is sent again", async () => {
    await driver.clear(queue);
    await driver.push([newJob(queue, 'd')]);
    const [leased] = (await driver.reserve(queue, reserveOptions)).jobs;
    const error = { message: 'later' };
    const first = await driver.fail({ lease: leased!, error, retryInMs: 60_000 });
    const record = await driver.getJob(queue, 'd');
    expect(record?.status).toBe('delayed');
    expect(first).toEqual({ outcome: 'retrying', runAt: record!.runAt });
    expect(await driver.redis.zscore(keys.delayed, 'd')).toBe(String(record!.runAt));
    // its reply lost and the call sent again, a little later: the first answer, not a new time
    await sleep(5);
    expect(await driver.fail({ lease: leased!, error, retryInMs: 60_000 })).toEqual(first);
  });
  it('queues retries that come due at the same millisecond in the order they failed, not by id', async () => {
    await driver.clear(queue);
    await driver.push([newJob(queue, 'zz-fails-first'), newJob(queue, 'aa-fails-second')]);
    const { jobs } = await driver.reserve(queue, reserveOptions);
    const error = { message: 'later' };
    for (const lease of jobs) await driver.fail({ lease, error, retryInMs: 60_000 });
    // the two calls ran a millisecond or so apart: give both one run-at time, soon, as calls in
    // one millisecond would have
    const runAt = Date.now() + 100;
    for (const lease of jobs) await driver.redis.zadd(keys.delayed, 'XX', runAt, lease.id);
    await sleep(150);
    const { changed } = await driver.reserve(queue, { ...reserveOptions, count: 0 });
    expect(changed.map((change) => change.id)).toEqual(['zz-fails-first', 'aa-fails-second']);
  });

  it('answers a release run again as its first run did, and a fail of a released lease lost', async () => {
    await driver.clear(queue);
    await driver.push(['q1', 'q2'].map((id) => newJob(queue, id)));
    const leased = (await driver.reserve(queue, reserveOptions)).jobs;
    const leases = ['q1', 'q2'].map((id) => leased.find((job) => job.id === id)!);
    expect(await driver.cancel(queue, 'q2')).toBe('running');
    expect(await driver.release(leases)).toEqual(['queued', 'cancelled']);
    expect(await driver.release(leases)).toEqual(['queued', 'cancelled']);
    expect(await driver.release([{ ...leases[0]!, token: 'another' }])).toEqual(['lost']);
    const error = { message: 'late' };
    // a release's answers are not a failure's, cancelled included, nor the other way round
    expect((await driver.fail({ lease: leases[0]!, error, retryInMs: null })).outcome).toBe('lost');
    expect((await driver.fail({ lease: leases[1]!, error, retryInMs: null })).outcome).toBe('lost');
    expect(await driver.getJob(queue, 'q1')).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await driver.getJob(queue, 'q2')).toMatchObject({ status: 'cancelled' });
    await driver.push([newJob(queue, 'q3')]);
    const q3 = (await driver.reserve(queue, reserveOptions)).jobs.find((job) => job.id === 'q3');
    expect(await driver.cancel(queue, 'q3')).toBe('running');
    expect((await driver.fail({ lease: q3!, error, retryInMs: 0 })).outcome).toBe('cancelled');
    expect(await driver.release([q3!])).toEqual(['lost']);
  });
});

describe('redis driver: completed times list', () => {
  const drivers: RedisQueueDriver[] = [];
  afterAll(async () => {
    await Promise.all(drivers.map((other) => other.close()));
  });
  /** A queue of its own, and a driver on it keeping records as `retention` says. */
  const setUp = (name: string, retention: Partial<RetentionSettings> = {}) => {
    const { queue, driver } = queueUnderTest(name);
    const keys = driver.keys.queue(queue);
    const keeping = (more: Partial<RetentionSettings>) => {
      const other = redisDriver(more);
      drivers.push(other);
      return other;
    };
    const by = keeping(retention);
    const run = async (ids: string[], with_ = by) => {
      await with_.push(ids.map((id) => newJob(queue, id)));
      const { jobs } = await with_.reserve(queue, { ...reserveOptions, count: ids.length });
      await with_.complete(jobs.map((j) => ({ lease: { id: j.id, queue, token: j.token }, result: 'null' })));
    };
    /** The times list as [count, finish ms] pairs, after checking it accounts for every kept id. */
    const times = async () => {
      const entries = (await driver.redis.lrange(keys.completedTimes, 0, -1)).map((entry) =>
        entry.split(':').map(Number),
      );
      const total = entries.reduce((sum, [count]) => sum + count!, 0);
      expect(total).toBe(await driver.redis.llen(keys.completed));
      return entries;
    };
    return { queue, driver, keys, keeping, run, times };
  };

  it('gives each record the finish time of the call that completed it, and cuts the oldest entry short', async () => {
    const { queue, driver, run, times } = setUp('times-partial', { completedCount: 5 });
    await run(['t1', 't2', 't3']);
    await sleep(20);
    await run(['t4', 't5', 't6']);
    const entries = await times();
    expect(entries.map(([count]) => count)).toEqual([2, 3]);
    const [firstAt, secondAt] = entries.map(([, at]) => at!);
    const records = await driver.listJobs(queue, 'completed', 0, 10);
    expect(records.map((r) => [r.id, r.finishedAt])).toEqual([
      ['t6', secondAt],
      ['t5', secondAt],
      ['t4', secondAt],
      ['t3', firstAt],
      ['t2', firstAt],
    ]);
    expect(secondAt! - firstAt!).toBeGreaterThanOrEqual(15);
    expect(await driver.getJob(queue, 't1')).toBeUndefined();
  });

  it('drops old entries past the first window of the times list in one call', async () => {
    // an age the 20 calls take well under even on a loaded machine (50 ms was not)
    const { queue, driver, run, times } = setUp('times-age', { completedAgeMs: 1000 });
    for (let i = 0; i < 20; i++) await run([`old${i}`]);
    expect(await times()).toHaveLength(20);
    await sleep(1100);
    await run(['fresh']);
    expect((await times()).map(([count]) => count)).toEqual([1]);
    expect((await driver.listJobs(queue, 'completed', 0, 30)).map((r) => r.id)).toEqual(['fresh']);
    expect(await driver.getJob(queue, 'old19')).toBeUndefined();
  });

  it('applies the age bound and the count bound in the same call', async () => {
    const { queue, driver, run, times } = setUp('times-both', { completedCount: 4, completedAgeMs: 50 });
    await run(['a1', 'a2']);
    await sleep(80);
    await run(['b1', 'b2', 'b3']);
    await run(['c1', 'c2']);
    // a1 and a2 go by age, b1 by count
    expect((await times()).map(([count]) => count)).toEqual([2, 2]);
    expect((await driver.listJobs(queue, 'completed', 0, 10)).map((r) => r.id)).toEqual([
      'c2',
      'c1',
      'b3',
      'b2',
    ]);
  });

  it('stops at 1,000 records per call inside an entry, and the rest of it goes with the next call', async () => {
    const { queue, driver, keeping, run, times } = setUp('times-cap', { completedCount: 5000 });
    const ids = Array.from({ length: 1200 }, (_, i) => `j${i}`);
    await run(ids);
    const lowered = keeping({ completedCount: 10 });
    await run(['next1'], lowered);
    expect((await times()).map(([count]) => count)).toEqual([200, 1]);
    expect((await driver.counts(queue)).completed).toBe(201);
    await run(['next2'], lowered);
    expect((await times()).map(([count]) => count)).toEqual([8, 1, 1]);
    expect((await driver.listJobs(queue, 'completed', 0, 20)).map((r) => r.id)).toEqual([
      'next2',
      'next1',
      ...ids.slice(-8).reverse(),
    ]);
  });

  it('empties both lists when a worker keeps no records, whatever entries the records were in', async () => {
    const { queue, driver, keys, keeping, run } = setUp('times-none', { completedCount: 100 });
    await run(['k1', 'k2']);
    await run(['k3']);
    await run(['unkept'], keeping({ completedCount: 0 }));
    expect(await driver.redis.exists(keys.completed, keys.completedTimes)).toBe(0);
    for (const id of ['k1', 'k3', 'unkept']) expect(await driver.getJob(queue, id)).toBeUndefined();
  });

  it('dates ids without a times entry as unknown, so both bounds still reach them', async () => {
    const { queue, driver, keys, keeping, run, times } = setUp('times-lost', {
      completedCount: 3,
      completedAgeMs: 0,
    });
    await run(['u1', 'u2', 'u3']);
    await driver.redis.del(keys.completedTimes);
    expect(await driver.getJob(queue, 'u3')).toMatchObject({ status: 'completed', finishedAt: null });
    await run(['v1']);
    // u2 and u3 stay without a time (0); u1 went by count; v1 has its own entry
    expect((await times()).map(([count, at]) => [count, at === 0])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(
      (await driver.listJobs(queue, 'completed', 0, 10)).map((r) => [r.id, r.finishedAt !== null]),
    ).toEqual([
      ['v1', true],
      ['u3', false],
      ['u2', false],
    ]);
    expect(await driver.getJob(queue, 'u1')).toBeUndefined();
    // under an age bound (24 hours by default) ids of unknown age count as old
    await run(['v2'], keeping({ completedCount: 3 }));
    expect((await driver.listJobs(queue, 'completed', 0, 10)).map((r) => r.id)).toEqual(['v2', 'v1']);
  });

  it('drops times entries left without ids when the ids list was deleted', async () => {
    const { queue, driver, keys, run, times } = setUp('times-orphans', { completedAgeMs: 50 });
    await run(['w1']);
    await run(['w2']);
    await driver.redis.del(keys.completed);
    await sleep(80);
    await run(['x1']);
    // the stale entries do not take x1 with them under the age bound
    expect((await times()).map(([count]) => count)).toEqual([1]);
    expect((await driver.listJobs(queue, 'completed', 0, 10)).map((r) => r.id)).toEqual(['x1']);
  });
});

describe('redis driver: leases hash', () => {
  const { queue, driver } = queueUnderTest('leases-hash');
  const job = (id: string) => newJob(queue, id);
  const keys = driver.keys.queue(queue);
  /** The active set, the job ids of the leases hash, and the completed list. */
  const leased = async () => ({
    active: (await driver.redis.zrange(keys.active, 0, -1)).sort(),
    leases: Object.keys(await driver.redis.hgetall(keys.leases))
      .filter((id) => id !== 'encoding pin')
      .sort(),
    completed: (await driver.redis.lrange(keys.completed, 0, -1)).sort(),
  });

  it('holds a lease token exactly for the jobs in the active set, through every way out of it', async () => {
    await driver.push(['done', 'failed', 'retried', 'released', 'crashed'].map(job));
    const jobs = (await driver.reserve(queue, { ...reserveOptions, leaseMs: 50 })).jobs;
    const lease = (id: string) => {
      const reserved = jobs.find((j) => j.id === id)!;
      return { id, queue, token: reserved.token };
    };
    const all = ['crashed', 'done', 'failed', 'released', 'retried'];
    expect(await leased()).toEqual({ active: all, leases: all, completed: [] });
    // the leases hash holds the reservation's token, and nothing else does
    expect(await driver.redis.hget(keys.leases, 'done')).toBe(lease('done').token);
    // a listpack would be scanned field by field on every lookup
    expect(await driver.redis.object('ENCODING', keys.leases)).toBe('hashtable');

    await driver.complete([{ lease: lease('done'), result: 'null' }]);
    // a completed job's lease is gone; its hash still says running, and its record reads completed
    expect(await driver.redis.hget(keys.job + 'done', 'status')).toBe('running');
    expect((await driver.getJob(queue, 'done'))?.status).toBe('completed');
    const error = { code: 'E_TEST', message: 'boom', name: 'Error' };
    await driver.fail({ lease: lease('failed'), error, retryInMs: null });
    await driver.fail({ lease: lease('retried'), error, retryInMs: 60_000 });
    await driver.release([lease('released')]);
    expect(await leased()).toEqual({ active: ['crashed'], leases: ['crashed'], completed: ['done'] });

    // 'crashed' is never acknowledged: its lease ends and the next reserve reclaims and leases it again
    await sleep(60);
    const again = (await driver.reserve(queue, reserveOptions)).jobs.map((j) => j.id).sort();
    expect(again).toEqual(['crashed', 'released']);
    expect(await leased()).toEqual({ active: again, leases: again, completed: ['done'] });
    expect(await driver.complete([{ lease: lease('crashed'), result: 'null' }])).toEqual([false]);
  });

  it('renews a lease to a deadline rounded up to the next whole ms, so a sub-ms lease is not over at once', async () => {
    await driver.push([job('renewed')]);
    const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
    const [seconds, micros] = await driver.redis.time();
    const before = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const lease = { id: 'renewed', queue, token: reserved!.token };
    expect(await driver.extend([lease], 0.2)).toEqual(['ok']);
    const deadline = Number(await driver.redis.zscore(keys.active, 'renewed'));
    expect(Number.isInteger(deadline)).toBe(true);
    // a deadline at or before now would let the next reserve reclaim a job its worker just renewed
    expect(deadline).toBeGreaterThanOrEqual(before + 1);
    await driver.release([lease]);
  });
});

describe('redis driver: attempt counts', () => {
  const { queue, driver } = queueUnderTest('attempts');

  it('counts every attempt, past the few it looks up rather than computes', async () => {
    await driver.push([newJob(queue, 'many', { maxTries: 20 })]);
    const attempts: number[] = [];
    for (let i = 0; i < 12; i++) {
      const [job] = (
        await driver.reserve(queue, { count: 1, leaseMs: 30_000, worker: 'w', defaultMaxTries: 3 })
      ).jobs;
      attempts.push(job!.attempt);
      const error = { code: 'E_TEST', message: 'again', name: 'Error' };
      await driver.fail({ lease: { id: 'many', queue, token: job!.token }, error, retryInMs: 0 });
    }
    expect(attempts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect((await driver.getJob(queue, 'many'))?.attempts).toBe(12);
  });
});

describe('redis driver: jobs a reserve fails', () => {
  const { queue, driver } = queueUnderTest('abandoned-records');

  it('hands back their records with its reply, so no later read (which may fail) can lose their failed() hooks', async () => {
    // every other record read fails: the abandoned records must not depend on one
    const commands = driver.redis as unknown as Record<string, unknown>;
    const read = commands.topiq_read_records;
    commands.topiq_read_records = () => Promise.reject(new Error('read ECONNRESET'));
    try {
      await driver.push([newJob(queue, 'last-try', { maxTries: 1, payload: '{"n":7}' })]);
      const [job] = (await driver.reserve(queue, reserveOptions)).jobs;
      await driver.extend([{ id: 'last-try', queue, token: job!.token }], 20, { started: 1 });
      await sleep(60);
      const { abandoned } = await driver.reserve(queue, reserveOptions);
      expect(abandoned).toEqual([
        expect.objectContaining({
          id: 'last-try',
          name: 'EchoJob',
          queue,
          status: 'failed',
          attempts: 1,
          payload: { n: 7 },
          error: expect.objectContaining({ code: 'E_LEASE_EXPIRED' }),
        }),
      ]);
    } finally {
      commands.topiq_read_records = read;
    }
  });
});

describe('redis driver: damaged job records', () => {
  const { queue, driver } = queueUnderTest('damaged');

  it('refuses a job name with a line break at push, writing none of the batch', async () => {
    const job = (id: string, name: string) => newJob(queue, id, { name });
    await expect(driver.push([job('fine', 'EchoJob'), job('broken', 'Echo\nJob')])).rejects.toThrow(
      /job name "Echo\\nJob" is not allowed/,
    );
    expect(await driver.getJob(queue, 'fine')).toBeUndefined();
  });

  it('reserves a job whose expiresAt is damaged as one without, losing none of its batch', async () => {
    await driver.push([
      newJob(queue, 'x1'),
      newJob(queue, 'x2', { expiresAt: Date.now() + 60_000 }),
      newJob(queue, 'x3'),
    ]);
    await driver.redis.hset(driver.keys.job(queue, 'x2'), 'expiresAt', 'soon');
    const { jobs } = await driver.reserve(queue, { ...reserveOptions, count: 3 });
    expect(jobs.map((job) => job.id)).toEqual(['x1', 'x2', 'x3']);
    const leases = jobs.map((job) => ({ id: job.id, queue, token: job.token }));
    expect(await driver.release(leases)).toEqual(['queued', 'queued', 'queued']);
    for (const id of ['x1', 'x2', 'x3']) expect(await driver.cancel(queue, id)).toBe('cancelled');
  });

  it('releases a held job whose runAt is damaged into its queue, not losing it', async () => {
    await driver.push([newJob(queue, 'held', { hold: true, runAt: Date.now() + 60_000 })]);
    await driver.redis.hset(driver.keys.job(queue, 'held'), 'runAt', 'later');
    expect(await driver.releaseHeld(queue, 'held')).toBe('queued');
    expect(await driver.counts(queue)).toMatchObject({ pending: 0, waiting: 1 });
    expect(await driver.cancel(queue, 'held')).toBe('cancelled');
  });

  it('moves jobs whose spec is damaged or missing through every set, losing none', async () => {
    const ids = ['reclaimed', 'released', 'retried', 'failed', 'delayed'];
    await driver.push(
      ids.map((id) =>
        // not due at the first reserve, even on a loaded machine
        newJob(queue, id, { maxTries: 5, ...(id === 'delayed' ? { runAt: Date.now() + 300 } : {}) }),
      ),
    );
    for (const id of ids) await driver.redis.hset(driver.keys.job(queue, id), 'spec', 'no line breaks');
    await driver.redis.hdel(driver.keys.job(queue, 'released'), 'spec');
    const first = (await driver.reserve(queue, { ...reserveOptions, leaseMs: 50 })).jobs;
    // they run as jobs of no name, which a worker fails into the failed store
    expect(first.map((job) => [job.id, job.name]).sort()).toEqual([
      ['failed', ''],
      ['reclaimed', ''],
      ['released', ''],
      ['retried', ''],
    ]);
    const lease = (id: string) => ({ id, queue, token: first.find((job) => job.id === id)!.token });
    const error = { code: 'E_JOB_NOT_REGISTERED', message: 'no job class is registered as ""' };
    expect(await driver.release([lease('released')])).toEqual(['queued']);
    expect((await driver.fail({ lease: lease('retried'), error, retryInMs: 0 })).outcome).toBe('retrying');
    expect((await driver.fail({ lease: lease('failed'), error, retryInMs: null })).outcome).toBe('failed');
    expect((await driver.retryFailed(queue, { ids: ['failed'] })).retried).toBe(1);
    // 'reclaimed' is never acknowledged: its lease ends and it comes back; 'delayed' comes due
    await sleep(350);
    const second = (await driver.reserve(queue, reserveOptions)).jobs.map((job) => job.id).sort();
    expect(second).toEqual([...ids].sort());
    expect(await driver.counts(queue)).toMatchObject({ running: 5, waiting: 0, delayed: 0, failed: 0 });
    expect(await driver.getJob(queue, 'released')).toMatchObject({
      name: '',
      payload: '',
      status: 'running',
    });
  });

  it('reserves, reclaims and releases jobs whose attempts field is damaged, counting it as 0', async () => {
    const ids = ['no-attempts', 'bad-attempts', 'after'];
    await driver.push(ids.map((id) => newJob(queue, id)));
    await driver.redis.hdel(driver.keys.job(queue, 'no-attempts'), 'attempts');
    await driver.redis.hset(driver.keys.job(queue, 'bad-attempts'), 'attempts', 'x');
    // one error in the batch would leave the jobs before it marked running without a lease
    const first = (await driver.reserve(queue, { ...reserveOptions, leaseMs: 50 })).jobs;
    expect(first.map((job) => [job.id, job.attempt])).toEqual([
      ['no-attempts', 1],
      ['bad-attempts', 1],
      ['after', 1],
    ]);
    await driver.redis.hset(driver.keys.job(queue, 'after'), 'attempts', 'y');
    const after = { id: 'after', queue, token: first[2]!.token };
    expect(await driver.release([after])).toEqual(['queued']);
    await driver.redis.hset(driver.keys.job(queue, 'bad-attempts'), 'attempts', 'z');
    // the other two leases end: the next reserve reclaims them (a damaged count is 0 tries)
    await sleep(60);
    const second = (await driver.reserve(queue, reserveOptions)).jobs.map((job) => job.id).sort();
    expect(second).toEqual([...ids].sort());
    for (const id of ids) expect((await driver.getJob(queue, id))?.status).toBe('running');
  });
});

describe('redis driver: a job key of another type', () => {
  const { queue, driver } = queueUnderTest('wrongtype');
  const acks = queueUnderTest('wrongtype-acks');

  it('reserves the jobs around a ready job whose key is no hash, and takes that one as gone', async () => {
    await driver.push(['a', 'b', 'c'].map((id) => newJob(queue, id)));
    await driver.redis.del(driver.keys.job(queue, 'b'));
    await driver.redis.set(driver.keys.job(queue, 'b'), 'not a hash');

    const { jobs } = await driver.reserve(queue, { ...reserveOptions, count: 3 });
    expect(jobs.map((job) => job.id)).toEqual(['a', 'c']);
    expect((await driver.getJob(queue, 'a'))?.status).toBe('running');
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0, running: 2 });
    const leases = jobs.map((job) => ({ id: job.id, queue, token: job.token }));
    expect(await driver.complete(leases.map((lease) => ({ lease, result: 'null' })))).toEqual([true, true]);
  });

  it('completes the jobs of a batch around one whose key is no hash, answering that one as not completed', async () => {
    const { queue, driver } = acks;
    await driver.push(['k1', 'k2', 'k3'].map((id) => newJob(queue, id)));
    const { jobs } = await driver.reserve(queue, { ...reserveOptions, count: 3 });
    expect(jobs.map((job) => job.id)).toEqual(['k1', 'k2', 'k3']);
    await driver.redis.del(driver.keys.job(queue, 'k2'));
    await driver.redis.set(driver.keys.job(queue, 'k2'), 'not a hash');

    const completions = jobs.map((job) => ({ lease: { id: job.id, queue, token: job.token }, result: '7' }));
    expect(await driver.complete(completions)).toEqual([true, false, true]);
    for (const id of ['k1', 'k3']) {
      expect(await driver.getJob(queue, id)).toMatchObject({ status: 'completed', result: 7 });
    }
  });

  it('still serves its queue when a due delayed job or a lapsed lease names a key that is no hash', async () => {
    await driver.push([
      newJob(queue, 'due', { runAt: Date.now() + 30 }),
      newJob(queue, 'leased'),
      newJob(queue, 'ready-1'),
    ]);
    const [leased] = (await driver.reserve(queue, { ...reserveOptions, count: 1, leaseMs: 30 })).jobs;
    expect(leased?.id).toBe('leased');
    await driver.push([newJob(queue, 'ready-2')]);
    for (const id of ['due', 'leased']) {
      await driver.redis.del(driver.keys.job(queue, id));
      await driver.redis.sadd(driver.keys.job(queue, id), 'not a hash');
    }
    await sleep(60); // 'due' comes due, and the lease of 'leased' lapses

    const { jobs } = await driver.reserve(queue, reserveOptions);
    expect(jobs.map((job) => job.id).sort()).toEqual(['ready-1', 'ready-2']);
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0, delayed: 0, running: 2 });
    expect((await driver.reserve(queue, reserveOptions)).jobs).toEqual([]);
  });
});

describe('redis driver: a database the server does not have', () => {
  it('fails every call with E_REDIS_UNAVAILABLE naming the database, writing nothing to database 0', async () => {
    const prefix = `topiq-test-db99-${process.pid}`;
    const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379/99', prefix });
    const refusal = expect.objectContaining({
      code: 'E_REDIS_UNAVAILABLE',
      message: expect.stringMatching(/refused database 99 .*\/0 to \/15/),
    });
    try {
      await expect(driver.push([newJob('db99', 'a')])).rejects.toThrow(refusal);
      await expect(driver.counts('db99')).rejects.toThrow(refusal);
      await expect(driver.waitForWork(['db99'], 100)).rejects.toThrow(refusal);
    } finally {
      await driver.close();
    }
    const databaseZero = redisDriver();
    expect(await databaseZero.redis.keys(`${prefix}*`)).toEqual([]);
    await databaseZero.close();
  });
});
