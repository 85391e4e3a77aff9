/**
 * `assertKnownQueues`, which the operator commands ask before they read or change a queue
 * named by `--queue`, against Redis: a typo fails, a queue holding jobs passes even when Redis
 * lost its list of queues, and the API does not ask.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { assertKnownQueues } from '../../../core/queue/job_lookup.js';
import { JobManager } from '../../../core/queue/job_manager.js';
import { newJob } from '../../support/new_job.js';
import { deleteKeys } from '../../support/redis_keys.js';

const PREFIX = `topiq-test-known-${randomBytes(4).toString('hex')}`;
const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });

afterAll(async () => {
  await deleteKeys(driver.redis, PREFIX);
  await driver.close();
});

describe('assertKnownQueues on Redis', () => {
  it('fails with E_QUEUE_NOT_FOUND for a queue no job was pushed to, naming the queues there are', async () => {
    await driver.push([newJob('emails', 'e1')]);

    const error = await assertKnownQueues(driver, ['emials']).catch((caught: unknown) => caught);

    expect(isTopiqError(error, 'E_QUEUE_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toMatch(/no queue is named "emials".*the queues are "emails"/);
  });

  it('takes a queue that holds jobs after Redis lost its list of queues (the app adds to it once)', async () => {
    await driver.push([newJob('reports', 'r1')]);
    await driver.redis.del(driver.keys.queueSet);
    await driver.push([newJob('reports', 'r2')]); // this process knows the queue: not added again

    expect(await driver.queues()).not.toContain('reports');
    await expect(assertKnownQueues(driver, ['reports'])).resolves.toBeUndefined();
  });

  it('is not asked by the API: a job looked up in an unknown queue is not found', async () => {
    const error = await new JobManager(driver).find('x1', 'nowhere').catch((caught: unknown) => caught);

    expect(isTopiqError(error, 'E_JOB_NOT_FOUND')).toBe(true);
  });
});
