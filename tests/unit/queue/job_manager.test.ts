/**
 * `JobManager.list`/`listPage` (behind `job:list`): the order across queues, the limit, and
 * how much it reads to tell whether more records match.
 */
import { describe, expect, it } from 'vitest';
import { MemoryQueueDriver } from '../../../core/queue/drivers/memory/index.js';
import { JobManager, MAX_LIST_LIMIT } from '../../../core/queue/job_manager.js';
import { newJob, reserveOptions } from './drivers/memory/fixtures.js';

/** A memory driver whose listJobs counts the records it hands out. */
function countingDriver() {
  const driver = new MemoryQueueDriver();
  const counter = { read: 0 };
  const listJobs = driver.listJobs.bind(driver);
  driver.listJobs = async (...args) => {
    const records = await listJobs(...args);
    counter.read += records.length;
    return records;
  };
  return { driver, counter };
}

describe('JobManager.listPage', () => {
  it('reads one record more than the limit across many queues, not the limit from each', async () => {
    const { driver, counter } = countingDriver();
    for (let queue = 0; queue < 20; queue++) {
      await driver.push(
        Array.from({ length: 50 }, (_, index) => newJob(`q${queue}-${index}`, { queue: `q${queue}` })),
      );
    }
    const page = await new JobManager(driver).listPage({ limit: 30 });
    expect(page.records).toHaveLength(30);
    expect(page.more).toBe(true);
    expect(counter.read).toBe(31);
  });

  it('says whether more match even at the largest limit', async () => {
    const { driver } = countingDriver();
    await driver.push(Array.from({ length: MAX_LIST_LIMIT + 1 }, (_, index) => newJob(`j${index}`)));
    const jobs = new JobManager(driver);
    const full = await jobs.listPage({ limit: MAX_LIST_LIMIT });
    expect(full.records).toHaveLength(MAX_LIST_LIMIT);
    expect(full.more).toBe(true);
    await driver.cancel('q', 'j0');
    const exact = await jobs.listPage({ limit: MAX_LIST_LIMIT, status: 'queued' });
    expect(exact).toMatchObject({ more: false });
    expect(exact.records).toHaveLength(MAX_LIST_LIMIT);
  });

  it("lists every queue's running jobs before any queue's waiting ones, and finished ones newest first across queues", async () => {
    const { driver } = countingDriver();
    await driver.push([newJob('a-wait', { queue: 'a' }), newJob('b-run', { queue: 'b' })]);
    await driver.reserve('b', reserveOptions());
    await driver.push([newJob('a-old', { queue: 'a' }), newJob('b-new', { queue: 'b' })]);
    await driver.cancel('a', 'a-old');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await driver.cancel('b', 'b-new');
    const ids = (await new JobManager(driver).list()).map((record) => record.id);
    expect(ids).toEqual(['b-run', 'a-wait', 'b-new', 'a-old']);
  });
});
