/**
 * `FailedJobs` (behind `queue:failed`, `queue:retry`, `queue:forget`) by id when the same id
 * failed in two queues: ids are unique within a queue, not across queues.
 */
import { describe, expect, it, vi } from 'vitest';
import { MemoryQueueDriver } from '../../../core/queue/drivers/memory/index.js';
import { FailedJobs } from '../../../core/queue/failed_jobs.js';
import { leaseOf, newJob, reserveOptions } from './drivers/memory/fixtures.js';

/** A driver where job `same` failed for good in queues `a` and `b`. */
async function failedInTwoQueues(): Promise<MemoryQueueDriver> {
  const driver = new MemoryQueueDriver();
  for (const queue of ['a', 'b']) {
    await driver.push([newJob('same', { queue })]);
    const [reserved] = (await driver.reserve(queue, reserveOptions())).jobs;
    await driver.fail({ lease: leaseOf(reserved!), error: { message: 'boom' }, retryInMs: null });
  }
  return driver;
}

describe('FailedJobs with an id failed in two queues', () => {
  it('refuses to find, retry or forget it without a queue, naming both, and changes nothing', async () => {
    const driver = await failedInTwoQueues();
    const failed = new FailedJobs(driver);
    for (const call of [
      () => failed.find('same'),
      () => failed.retry(['same']),
      () => failed.forget(['same']),
    ]) {
      await expect(call()).rejects.toMatchObject({
        code: 'E_JOB_AMBIGUOUS',
        message: expect.stringContaining('("a", "b")'),
      });
    }
    expect(await driver.counts('a')).toMatchObject({ failed: 1, waiting: 0 });
    expect(await driver.counts('b')).toMatchObject({ failed: 1, waiting: 0 });
  });

  it('retries it in the queue named', async () => {
    const driver = await failedInTwoQueues();
    expect((await new FailedJobs(driver).retry(['same'], 'b')).retried).toBe(1);
    expect(await driver.counts('a')).toMatchObject({ failed: 1, waiting: 0 });
    expect(await driver.counts('b')).toMatchObject({ failed: 0, waiting: 1 });
  });
});

describe('FailedJobs with many ids', () => {
  it('lists the queues once for a retry or forget of many ids, not once per id', async () => {
    const driver = await failedInTwoQueues();
    for (let index = 0; index < 20; index++) {
      await driver.push([newJob(`many-${index}`, { queue: 'c' })]);
      const [reserved] = (await driver.reserve('c', reserveOptions())).jobs;
      await driver.fail({ lease: leaseOf(reserved!), error: { message: 'boom' }, retryInMs: null });
    }
    const ids = Array.from({ length: 20 }, (_, index) => `many-${index}`);
    const listings = vi.spyOn(driver, 'queues');

    expect((await new FailedJobs(driver).retry(ids)).retried).toBe(20);
    expect(listings).toHaveBeenCalledTimes(1);
    // and for ids that are no failed job, the error's lookups too
    await expect(new FailedJobs(driver).forget([...ids, 'nothing'])).rejects.toMatchObject({
      code: 'E_JOB_NOT_FOUND',
    });
    expect(listings).toHaveBeenCalledTimes(2);
    listings.mockRestore();
  });
});
