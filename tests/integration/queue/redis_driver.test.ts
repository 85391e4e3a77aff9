import { afterAll, describe, expect, it } from 'vitest';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { defineDriverContract } from './driver_contract.js';

defineDriverContract(
  'redis',
  (retention) =>
    new RedisQueueDriver({
      connection: 'redis://127.0.0.1:6379',
      prefix: 'topiq-test',
      retention: retention ?? {},
    }),
);

describe('redis driver: completed set', () => {
  const queue = `completed-set-${process.pid}`;
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
  const reserveOptions = { count: 10, leaseMs: 30_000, worker: 'w1', defaultMaxTries: 3 };
  const job = (id: string) => ({ id, name: 'EchoJob', queue, payload: '{}', maxTries: 3, priority: 0 });
  afterAll(async () => {
    const keys = await driver.redis.keys(`topiq-test:{${queue}}:*`);
    if (keys.length > 0) await driver.redis.del(...keys);
    await driver.close();
  });

  it('does not count a leftover entry of an earlier job with the same id as this one completed', async () => {
    await driver.push([job('reused')]);
    const [first] = (await driver.reserve(queue, reserveOptions)).jobs;
    expect(
      await driver.complete([{ lease: { id: 'reused', queue, token: first!.token }, result: 'null' }]),
    ).toEqual([true]);
    // the record is dropped by hand while its completed entry stays; the id is dispatched again
    await driver.redis.del(driver.keys.job(queue, 'reused'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await driver.push([job('reused')])).toEqual(['added']);
    const [second] = (await driver.reserve(queue, reserveOptions)).jobs;
    expect((await driver.getJob(queue, 'reused'))?.status).toBe('running');
    const lease = { id: 'reused', queue, token: second!.token };
    expect(await driver.complete([{ lease, result: '7' }])).toEqual([true]);
    expect(await driver.getJob(queue, 'reused')).toMatchObject({ status: 'completed', result: 7 });
  });
});
