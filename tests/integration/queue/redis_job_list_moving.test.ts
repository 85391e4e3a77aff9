/**
 * `job:list` on Redis while jobs change status between its calls: `JobManager.listPage` reads
 * the statuses in the direction jobs move, so a job that moves on between two reads is listed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { JobManager } from '../../../core/queue/job_manager.js';
import { moveAfterRead } from '../../support/move_after_read.js';
import { newJob } from '../../support/new_job.js';
import { uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';

const PREFIX = 'topiq-test';
const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });
const queues: string[] = [];
const reserveOptions = { count: 1, leaseMs: 30_000, worker: 'w-list', defaultMaxTries: 1 };

/** A fresh queue, whose keys are deleted after the file. */
function nextQueue(label: string): string {
  const queue = uniqueQueue(label);
  queues.push(queue);
  return queue;
}

afterAll(async () => {
  for (const queue of queues) await deleteKeys(driver.redis, `${PREFIX}:{${queue}}`);
  await driver.close();
});

describe('JobManager.listPage on Redis while jobs move', () => {
  it('lists a job that a worker reserves after the running jobs were read', async () => {
    const queue = nextQueue('list-reserve');
    await driver.push([newJob(queue, 'moving')]);
    const racing = moveAfterRead(driver, 'running', () => driver.reserve(queue, reserveOptions));
    const records = await new JobManager(racing.driver).list({ queue, limit: 100 });
    expect(racing.moved()).toBe(true);
    expect((await driver.getJob(queue, 'moving'))?.status).toBe('running');
    expect(records.map((record) => record.id)).toEqual(['moving']);
  });

  it('lists a job released from hold after the queued jobs were read', async () => {
    const queue = nextQueue('list-release');
    await driver.push([newJob(queue, 'held', { hold: true }), newJob(queue, 'other')]);
    const racing = moveAfterRead(driver, 'queued', () => driver.releaseHeld(queue, 'held'));
    const records = await new JobManager(racing.driver).list({ queue, limit: 100 });
    expect(racing.moved()).toBe(true);
    expect(records.map((record) => record.id).sort()).toEqual(['held', 'other']);
  });
});
