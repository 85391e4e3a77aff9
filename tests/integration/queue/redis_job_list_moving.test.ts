/**
 * `job:list` on Redis while jobs change status between its calls: `JobManager.listPage` reads
 * the statuses in the order it lists them, then the lists jobs move into (queued, then running)
 * again, so a job that moves on between two reads is listed, in its list's order.
 */
import { describe, expect, it } from 'vitest';
import { JobManager } from '../../../core/queue/job_manager.js';
import { moveAfterRead } from '../../support/move_after_read.js';
import { newJob } from '../../support/new_job.js';
import { PREFIX, redisQueueFile } from '../../support/redis_queue_file.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';

const { driver, nextQueue } = redisQueueFile();
const reserveOptions = { count: 1, leaseMs: 30_000, worker: 'w-list', defaultMaxTries: 1 };

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

  it('fills a limited page, or says more, when the running jobs finish at any point of the listing', async () => {
    const forgetting = new RedisQueueDriver({
      connection: 'redis://127.0.0.1:6379',
      prefix: PREFIX,
      retention: { completedCount: 0 },
    });
    try {
      // after the nth read of the listing (none: before it), up to past its last read
      for (let after = 0; after <= 4; after++) {
        const queue = nextQueue('list-finish');
        await forgetting.push(
          ['r1', 'r2', 'r3', 'q1', 'q2', 'q3', 'q4', 'q5'].map((id) => newJob(queue, id)),
        );
        const { jobs } = await forgetting.reserve(queue, { ...reserveOptions, count: 3 });
        const complete = () =>
          forgetting.complete(
            jobs.map((job) => ({ lease: { id: job.id, queue, token: job.token }, result: 'null' })),
          );
        if (after === 0) await complete();
        const racing = moveAfterRead(forgetting, Math.max(after, 1), after === 0 ? async () => {} : complete);
        const page = await new JobManager(racing.driver).listPage({ queue, limit: 3 });
        expect(
          page.records.map((record) => `${record.id}:${record.status}`),
          `finished after read ${after}`,
        ).toBeOneOf([
          ['r1:running', 'r2:running', 'r3:running'],
          ['q1:queued', 'q2:queued', 'q3:queued'],
        ]);
        expect(page.more).toBe(true);
      }
    } finally {
      await forgetting.close();
    }
  });

  it('lists a job released from hold (priority -10) after the queued read first among the queued, as the queue has it', async () => {
    const queue = nextQueue('list-order');
    await driver.push([
      newJob(queue, 'q1'),
      newJob(queue, 'q2'),
      newJob(queue, 'h', { hold: true, priority: -10 }),
    ]);
    const racing = moveAfterRead(driver, 'queued', () => driver.releaseHeld(queue, 'h'));
    const page = await new JobManager(racing.driver).listPage({ queue, limit: 100 });
    expect(racing.moved()).toBe(true);
    const queuedOrder = (await driver.listJobs(queue, 'queued', 0, 100)).map((r) => r.id);
    expect(queuedOrder).toEqual(['h', 'q1', 'q2']);
    expect(page.records.map((r) => r.id)).toEqual(queuedOrder);
  });

  it('says no more when a filtered listing read every record (6,001 queued, under 10,000)', async () => {
    const queue = nextQueue('list-budget');
    const jobs = Array.from({ length: 6_000 }, (_, i) => newJob(queue, `o${i}`, { name: 'OtherJob' }));
    for (let i = 0; i < jobs.length; i += 1000) await driver.push(jobs.slice(i, i + 1000));
    await driver.push([newJob(queue, 'match')]);
    const page = await new JobManager(driver).listPage({ queue, name: 'EchoJob' });
    expect(page.records.map((r) => r.id)).toEqual(['match']);
    expect(page.more).toBe(false);
  });
});
