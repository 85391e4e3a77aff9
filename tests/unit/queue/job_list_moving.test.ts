/**
 * `JobManager.listPage` (behind `job:list`) while jobs change status between its reads: each
 * test moves a job at the worst moment for the list, right after the list it moves to was
 * read, and checks that the job is still listed, and listed only under the status it has.
 */
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../../core/index.js';
import { JobManager } from '../../../core/queue/job_manager.js';
import { moveAfterRead } from '../../support/move_after_read.js';
import { clockedDriver, newJob, reserveOptions } from './drivers/memory/fixtures.js';

const ids = (records: readonly JobRecord[]) => records.map((record) => record.id).sort();

describe('JobManager.listPage while jobs move', () => {
  it('lists a job that a worker reserves after the running jobs were read, filtered by name or not', async () => {
    for (const name of [undefined, 'TestJob']) {
      const { driver } = clockedDriver();
      await driver.push([newJob('moving')]);
      const racing = moveAfterRead(driver, 'running', () => driver.reserve('q', reserveOptions()));
      const records = await new JobManager(racing.driver).list({ limit: 100, ...(name ? { name } : {}) });
      expect(racing.moved()).toBe(true);
      expect((await driver.getJob('q', 'moving'))?.status).toBe('running');
      expect(ids(records)).toEqual(['moving']);
    }
  });

  it('lists a job released from hold after the queued jobs were read', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('held', { hold: true }), newJob('other')]);
    const racing = moveAfterRead(driver, 'queued', () => driver.releaseHeld('q', 'held'));
    const records = await new JobManager(racing.driver).list({ limit: 100 });
    expect(racing.moved()).toBe(true);
    expect(ids(records)).toEqual(['held', 'other']);
  });

  it('lists a delayed job that comes due and is queued after the queued jobs were read', async () => {
    const clocked = clockedDriver();
    const { driver } = clocked;
    await driver.push([newJob('head'), newJob('later', { runAt: clocked.now() + 1000 })]);
    // a worker's reserve, once it is due: moves the delayed job to the queue and takes the head
    const racing = moveAfterRead(driver, 'queued', async () => {
      clocked.advance(2000);
      await driver.reserve('q', reserveOptions());
    });
    const records = await new JobManager(racing.driver).list({ limit: 100 });
    expect(racing.moved()).toBe(true);
    expect((await driver.getJob('q', 'later'))?.status).toBe('queued');
    expect(ids(records)).toEqual(['head', 'later']);
  });

  it('lists no job under a status it left between the read of its id and of its record', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('done'), newJob('waiting')]);
    const [job] = (await driver.reserve('q', reserveOptions({ count: 1 }))).jobs;
    // a driver that reads the ids of a status, then their records in a second call, with the
    // job completing in between
    const listJobs = driver.listJobs.bind(driver);
    driver.listJobs = async (queue, status, offset, limit) => {
      const found = await listJobs(queue, status, offset, limit);
      if (status === 'running' && found.length > 0) {
        await driver.complete([{ lease: { id: job!.id, queue, token: job!.token }, result: 'null' }]);
      }
      const records = await Promise.all(found.map((record) => driver.getJob(queue, record.id)));
      return records.filter((record) => record !== undefined);
    };
    const jobs = new JobManager(driver);
    expect(await jobs.listPage({ status: 'running' })).toEqual({ records: [], more: false });
    const all = await jobs.list();
    expect(all.map((record) => `${record.id}:${record.status}`)).toEqual([
      'waiting:queued',
      'done:completed',
    ]);
  });

  it('fills a limited page past a record that moved on while read, and says more are left', async () => {
    const { driver } = clockedDriver();
    await driver.push(['j0', 'j1', 'j2', 'j3', 'j4'].map((id) => newJob(id)));
    // ids, then records: j0 is reserved in between, so the first page holds it as running
    const listJobs = driver.listJobs.bind(driver);
    let reserved = false;
    driver.listJobs = async (queue, status, offset, limit) => {
      const found = await listJobs(queue, status, offset, limit);
      if (!reserved) {
        reserved = true;
        await driver.reserve('q', reserveOptions({ count: 1 }));
      }
      const records = await Promise.all(found.map((record) => driver.getJob(queue, record.id)));
      return records.filter((record) => record !== undefined);
    };
    const page = await new JobManager(driver).listPage({ status: 'queued', limit: 3 });
    expect(page.records.map((record) => `${record.id}:${record.status}`)).toEqual([
      'j1:queued',
      'j2:queued',
      'j3:queued',
    ]);
    expect(page.more).toBe(true);
  });
});
