import { afterAll, describe, expect, it } from 'vitest';
import { Dispatcher, JobRegistry, RedisQueueDriver, Worker } from '../../../core/index.js';
import { uniqueQueue } from '../../support/queue_names.js';
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
