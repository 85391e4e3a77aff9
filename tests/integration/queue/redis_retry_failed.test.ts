/**
 * Retrying failed jobs in bulk on Redis (`queue:retry all`): it takes the jobs that failed
 * before it started, by the Redis clock that scores the failed set, and no later ones, and it
 * goes on past a batch of 1,000 that held members whose record was gone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { NewJob } from '../../../core/queue/driver.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { deleteKeys } from '../../support/redis_keys.js';

const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
const queues: string[] = [];
let queueNumber = 0;

afterAll(async () => {
  for (const queue of queues) await deleteKeys(driver.redis, `topiq-test:{${queue}}`);
  await driver.close();
});

/** A queue of this test holding `count` failed jobs `<queue>-<n>`, failed in that order. */
async function failedJobs(count: number): Promise<string> {
  const queue = `retry-failed-${process.pid}-${++queueNumber}`;
  queues.push(queue);
  const jobs: NewJob[] = Array.from({ length: count }, (_, n) => ({
    id: `${queue}-${n}`,
    name: 'EchoJob',
    queue,
    payload: '{}',
    maxTries: 1,
    priority: 0,
  }));
  await driver.push(jobs);
  for (let left = count; left > 0; ) {
    const { jobs: reserved } = await driver.reserve(queue, {
      count: Math.min(left, 500),
      leaseMs: 30_000,
      worker: 'w1',
      defaultMaxTries: 1,
    });
    for (const job of reserved) {
      await driver.fail({
        lease: { id: job.id, queue, token: job.token },
        error: { message: 'x' },
        retryInMs: null,
      });
    }
    left -= reserved.length;
  }
  expect(await driver.counts(queue)).toMatchObject({ failed: count });
  return queue;
}

async function redisNow(): Promise<number> {
  const [seconds, micros] = await driver.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('RedisQueueDriver.retryFailed in bulk', () => {
  it('retries every failed job when a member of the first 1,000 has lost its record', async () => {
    const queue = await failedJobs(1001);
    const [oldest] = await driver.redis.zrange(driver.keys.queue(queue).failed, 0, 0);
    await driver.redis.del(driver.keys.job(queue, oldest!));

    // each batch is told as soon as it moved (for its queued events), not all at the end
    const batches: number[] = [];
    expect(
      (await driver.retryFailed(queue, { all: true }, (moved) => batches.push(moved.length))).retried,
    ).toBe(1000);
    expect(batches).toEqual([999, 1]);
    expect(await driver.counts(queue)).toMatchObject({ failed: 0, waiting: 1000 });
  });

  it('passes over, leaving them failed, more than 1,000 jobs past their expiresAt ahead of the rest', async () => {
    const queue = await failedJobs(2300);
    // the 2,100 that failed first are past an expiresAt they were given (by hand: failing them
    // one by one before a real one passed could take longer than it leaves on a slow machine)
    const pipeline = driver.redis.pipeline();
    const past = (await redisNow()) - 1000;
    for (let n = 0; n < 2100; n++) pipeline.hset(driver.keys.job(queue, `${queue}-${n}`), 'expiresAt', past);
    await pipeline.exec();
    const outcome = await driver.retryFailed(queue, { all: true });
    expect(outcome.retried).toBe(200);
    expect(new Set(outcome.expired)).toEqual(
      new Set(Array.from({ length: 2100 }, (_, n) => `${queue}-${n}`)),
    );
    expect(outcome.expired).toHaveLength(2100);
    expect(await driver.counts(queue)).toMatchObject({ failed: 2100, waiting: 200 });
  });

  it('retries every job past those it leaves failed when some of those are deleted between its calls', async () => {
    const queue = await failedJobs(2500);
    const failed = driver.keys.queue(queue).failed;
    const oldest = await driver.redis.zrange(failed, 0, 499);
    const pipeline = driver.redis.pipeline();
    const past = (await redisNow()) - 1000;
    for (const id of oldest) pipeline.hset(driver.keys.job(queue, id), 'expiresAt', past);
    await pipeline.exec();
    let calls = 0;
    const outcome = await driver.retryFailed(queue, { all: true }, () => {
      // an operator's forget of 300 of the jobs left failed, between the first call and the
      // next: sent now on the driver's connection, Redis runs it before that next call
      if (++calls === 1) void driver.redis.zrem(failed, ...oldest.slice(0, 300));
    });
    expect(outcome.retried).toBe(2000);
    expect(await driver.counts(queue)).toMatchObject({ failed: 200, waiting: 2000 });
  });

  it.each([
    ['all', () => ({ all: true as const })],
    ['failedBefore a time still to come', () => ({ failedBefore: Date.now() + 3600_000 })],
  ])('with %s, leaves a job that failed after the call started', async (_case, selection) => {
    const queue = await failedJobs(3);
    // as if a worker failed this job again while the call ran: its failed score is later than
    // the Redis time at the start (a retried job failing again must not be taken twice)
    const later = driver.keys.queue(queue).failed;
    await driver.redis.zadd(later, 'XX', (await redisNow()) + 60_000, `${queue}-2`);

    expect((await driver.retryFailed(queue, selection())).retried).toBe(2);
    expect(await driver.counts(queue)).toMatchObject({ failed: 1, waiting: 2 });
    expect((await driver.getJob(queue, `${queue}-2`))?.status).toBe('failed');
  });
});
