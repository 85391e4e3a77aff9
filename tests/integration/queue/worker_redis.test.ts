import { afterAll, describe, expect, it, vi } from 'vitest';
import { Dispatcher, JobRegistry, RedisQueueDriver, Worker } from '../../../core/index.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { EchoJob, testJobs } from '../../support/test_jobs.js';
import { defineWorkerBehaviour } from './worker_behaviour.js';

defineWorkerBehaviour(
  'redis',
  () => new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' }),
);

describe('Worker on the redis driver: damaged records', () => {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
  const queue = uniqueQueue('damaged');
  afterAll(async () => {
    await deleteKeys(driver.redis, `topiq-test:{${queue}}`);
    await driver.close();
  });

  it('fails a job whose stored spec was damaged into the failed store and runs the others', async () => {
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const payload = { tag: 't', value: 'v' };
    const [bad] = await dispatcher.dispatchMany([
      { job: EchoJob, payload, options: { queue } },
      { job: EchoJob, payload, options: { queue } },
    ]);
    await driver.redis.hset(driver.keys.job(queue, bad!), 'spec', 'no line breaks at all');
    const worker = new Worker({ driver, registry, queues: [queue], stopWhenEmpty: true });
    expect(await worker.run()).toBe('empty');
    expect(await driver.counts(queue)).toMatchObject({ failed: 1, completed: 1, running: 0, waiting: 0 });
    const record = await driver.redis.hget(driver.keys.job(queue, bad!), 'error');
    expect(JSON.parse(record!)).toMatchObject({ code: 'E_JOB_NOT_REGISTERED' });
  });
});

describe('Worker on the redis driver: clocks', () => {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
  const queue = uniqueQueue('skew');
  afterAll(async () => {
    vi.restoreAllMocks();
    await deleteKeys(driver.redis, `topiq-test:{${queue}}`);
    await driver.close();
  });

  it('waits its sleep between reserves while idle though its clock runs 60 s ahead of Redis', async () => {
    const registry = new JobRegistry().register(...testJobs);
    await new Dispatcher(driver, registry).dispatch(EchoJob, { tag: 's', value: 'v' }, { queue });
    // another worker holds the queue's only job: its lease ends in 30 s by the Redis clock
    const held = await driver.reserve(queue, {
      count: 1,
      leaseMs: 30_000,
      worker: 'other',
      defaultMaxTries: 3,
    });
    expect(held.jobs).toHaveLength(1);
    let calls = 0;
    const reserve = driver.reserve.bind(driver);
    driver.reserve = (name, options) => {
      calls++;
      return reserve(name, options);
    };
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 60_000);
    const worker = new Worker({ driver, registry, queues: [queue], sleep: 1 });
    const done = worker.run();
    await sleep(1000);
    await worker.shutdown();
    await done;
    vi.restoreAllMocks();
    // one reserve, one after the 1 s sleep; a worker that read the deadline as past polled every 10 ms
    expect(calls).toBeLessThanOrEqual(3);
  });
});
