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
const shown = (records: readonly JobRecord[]) => records.map((record) => `${record.id}:${record.status}`);

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

  it('fills a limited page, or says more, when the running jobs finish at any point of the listing', async () => {
    // completed records kept or not (QUEUE_KEEP_COMPLETED=0): never a short page saying no more
    // while queued jobs that never moved are left out, nor a completed one listed before them
    for (const retention of [{ completedCount: 0 }, undefined]) {
      // after the nth read of the listing (none: before it), up to past its last read
      for (let after = 0; after <= 6; after++) {
        const { driver } = clockedDriver(retention);
        await driver.push(['r1', 'r2', 'r3', 'q1', 'q2', 'q3', 'q4', 'q5'].map((id) => newJob(id)));
        const { jobs } = await driver.reserve('q', reserveOptions({ count: 3 }));
        const complete = () =>
          driver.complete(
            jobs.map((job) => ({ lease: { id: job.id, queue: 'q', token: job.token }, result: 'null' })),
          );
        if (after === 0) await complete();
        const racing = moveAfterRead(driver, Math.max(after, 1), after === 0 ? async () => {} : complete);
        const page = await new JobManager(racing.driver).listPage({ limit: 3 });
        expect(shown(page.records), `finished after read ${after}`).toBeOneOf([
          ['r1:running', 'r2:running', 'r3:running'],
          ['q1:queued', 'q2:queued', 'q3:queued'],
        ]);
        expect(page.more).toBe(true);
      }
    }
  });
});

describe('JobManager.listPage filtered by name, cost', () => {
  it('reads only the running jobs when they fill the page', async () => {
    const { driver } = clockedDriver();
    await driver.push(Array.from({ length: 20 }, (_, i) => newJob(`r${i}`)));
    await driver.reserve('q', reserveOptions({ count: 20 }));
    await driver.push(Array.from({ length: 20_000 }, (_, i) => newJob(`o${i}`, { name: 'OtherJob' })));
    const listJobs = driver.listJobs.bind(driver);
    let read = 0;
    driver.listJobs = async (queue, status, offset, limit) => {
      const records = await listJobs(queue, status, offset, limit);
      read += records.length;
      return records;
    };
    const page = await new JobManager(driver).listPage({ name: 'TestJob', limit: 10 });
    expect(page.records).toHaveLength(10);
    expect(page.records.every((record) => record.status === 'running')).toBe(true);
    expect(page.more).toBe(true);
    // one read of the 20 running jobs, none of the 20,000 queued ones
    expect(read).toBe(20);
  });
});

describe('JobManager.listPage: jobs caught up by the second read keep their list order', () => {
  it('lists a job released from hold (priority -10) after the queued read first among the queued, as the queue has it', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('q1'), newJob('q2'), newJob('h', { hold: true, priority: -10 })]);
    const racing = moveAfterRead(driver, 'queued', () => driver.releaseHeld('q', 'h'));
    const page = await new JobManager(racing.driver).listPage({ limit: 100 });
    expect(racing.moved()).toBe(true);
    // the order job:list --status queued (and the driver) gives, which workers run them in
    const queuedOrder = (await driver.listJobs('q', 'queued', 0, 100)).map((r) => r.id);
    expect(queuedOrder).toEqual(['h', 'q1', 'q2']);
    expect(page.records.map((r) => r.id)).toEqual(queuedOrder);
  });

  it('lists a delayed job (priority -5) come due after the queued read where the queued list has it', async () => {
    const clocked = clockedDriver();
    const { driver } = clocked;
    await driver.push([
      newJob('z', { priority: -10 }),
      newJob('q1'),
      newJob('q2'),
      newJob('d', { priority: -5, runAt: clocked.now() + 1000 }),
    ]);
    // a worker's reserve once d is due: promotes d to the queue and takes z (priority -10)
    const racing = moveAfterRead(driver, 'queued', async () => {
      clocked.advance(2000);
      await driver.reserve('q', reserveOptions({ count: 1 }));
    });
    const page = await new JobManager(racing.driver).listPage({ limit: 100 });
    expect(racing.moved()).toBe(true);
    const queuedOrder = (await driver.listJobs('q', 'queued', 0, 100)).map((r) => r.id);
    expect(queuedOrder).toEqual(['d', 'q1', 'q2']);
    // z was listed as queued, as first read (documented); the jobs still queued keep their order
    const listedQueued = page.records.map((r) => r.id).filter((id) => queuedOrder.includes(id));
    expect(listedQueued).toEqual(queuedOrder);
  });

  it('lists a job still queued behind the jobs caught up after them, when they push it out of the second read', async () => {
    const { driver } = clockedDriver();
    const held = ['h1', 'h2', 'h3', 'h4', 'h5'];
    await driver.push([newJob('a1'), ...held.map((id) => newJob(id, { hold: true, priority: -10 }))]);
    const racing = moveAfterRead(driver, 'queued', async () => {
      for (const id of held) await driver.releaseHeld('q', id);
    });
    const page = await new JobManager(racing.driver).listPage({ limit: 3 });
    expect(racing.moved()).toBe(true);
    const queuedOrder = (await driver.listJobs('q', 'queued', 0, 100)).map((r) => r.id);
    expect(queuedOrder.at(-1)).toBe('a1');
    // the first three the queue runs, as an unraced listing shows them
    const unraced = await new JobManager(driver).listPage({ limit: 3 });
    expect(unraced.records.map((r) => r.id)).toEqual(queuedOrder.slice(0, 3));
    expect({ ids: page.records.map((r) => r.id), more: page.more }).toEqual({
      ids: queuedOrder.slice(0, 3),
      more: true,
    });
  });
});

describe('JobManager.listPage filtered by name, budget', () => {
  const counting = (driver: ReturnType<typeof clockedDriver>['driver']) => {
    const listJobs = driver.listJobs.bind(driver);
    const stats = { read: 0 };
    driver.listJobs = async (queue, status, offset, limit) => {
      const records = await listJobs(queue, status, offset, limit);
      stats.read += records.length;
      return records;
    };
    return stats;
  };

  it('says no more when it read every record and nothing moved (6,000 queued, 1 match): it reads the queued list once', async () => {
    const { driver } = clockedDriver();
    await driver.push(Array.from({ length: 6_000 }, (_, i) => newJob(`o${i}`, { name: 'OtherJob' })));
    await driver.push([newJob('match')]);
    const stats = counting(driver);
    const page = await new JobManager(driver).listPage({ name: 'TestJob' });
    expect(page.records.map((r) => r.id)).toEqual(['match']);
    // 6,001 records exist, under the 10,000 a filter may read: nothing more can match
    expect(page.more).toBe(false);
    expect(stats.read).toBeLessThanOrEqual(6_001);
  });

  it('leaves 10,000 less the queued jobs read for the finished ones: 5,000 queued, 1 completed match', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('done')]);
    const [job] = (await driver.reserve('q', reserveOptions({ count: 1 }))).jobs;
    await driver.complete([{ lease: { id: job!.id, queue: 'q', token: job!.token }, result: 'null' }]);
    await driver.push(Array.from({ length: 5_000 }, (_, i) => newJob(`o${i}`, { name: 'OtherJob' })));
    const stats = counting(driver);
    const page = await new JobManager(driver).listPage({ name: 'TestJob' });
    expect(page.records.map((r) => `${r.id}:${r.status}`)).toEqual(['done:completed']);
    expect(page.more).toBe(false);
    expect(stats.read).toBeLessThanOrEqual(5_001);
  });
});
