/**
 * `JobManager.list`/`listPage` (behind `job:list`): the order across queues, the limit, and
 * how much it reads to tell whether more records match.
 */
import { describe, expect, it } from 'vitest';
import { type JobEvent, JobEventPublisher } from '../../../core/index.js';
import { MemoryQueueDriver } from '../../../core/queue/drivers/memory/index.js';
import { JobManager, MAX_LIST_LIMIT, MAX_FILTER_SCAN } from '../../../core/queue/job_manager.js';
import { clockedDriver, leaseOf, newJob, reserveOptions } from './drivers/memory/fixtures.js';

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

  it('lists a job once though it completes between the read of running jobs and of completed ones', async () => {
    for (const name of [undefined, 'TestJob']) {
      const driver = new MemoryQueueDriver();
      await driver.push([newJob('moving')]);
      const [job] = (await driver.reserve('q', reserveOptions())).jobs;
      const listJobs = driver.listJobs.bind(driver);
      driver.listJobs = async (queue, status, offset, limit) => {
        const records = await listJobs(queue, status, offset, limit);
        if (status === 'running') await driver.complete([{ lease: leaseOf(job!), result: 'null' }]);
        return records;
      };
      const records = await new JobManager(driver).list(name ? { name } : {});
      expect(records.map((record) => `${record.id}:${record.status}`)).toEqual(['moving:running']);
    }
  });
});

describe('JobManager.listPage by name', () => {
  it('lists only jobs of the name, in the usual order, however deep among others they lie', async () => {
    const { driver } = countingDriver();
    const others = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, index) => newJob(`${prefix}${index}`, { name: 'OtherJob' }));
    await driver.push([newJob('run-me', { name: 'ImportJob' })]);
    await driver.reserve('q', reserveOptions());
    await driver.push(others('a', 1200));
    await driver.push([newJob('deep', { name: 'ImportJob' })]);
    await driver.push(others('b', 700));
    await driver.push([newJob('deeper', { name: 'ImportJob' }), newJob('x', { name: 'OtherJob' })]);
    const jobs = new JobManager(driver);
    const page = await jobs.listPage({ name: 'ImportJob' });
    expect(page.records.map((record) => record.id)).toEqual(['run-me', 'deep', 'deeper']);
    expect(page.more).toBe(false);
    const limited = await jobs.listPage({ name: 'ImportJob', limit: 1 });
    expect(limited).toMatchObject({ records: [{ id: 'run-me' }], more: true });
    expect((await jobs.listPage({ name: 'NoSuchJob' })).records).toEqual([]);
  });

  it('stops reading after MAX_FILTER_SCAN records in all, across queues, and says more may match', async () => {
    const { driver, counter } = countingDriver();
    const half = MAX_FILTER_SCAN / 2 + 500;
    for (const queue of ['q1', 'q2']) {
      await driver.push(
        Array.from({ length: half }, (_, index) => newJob(`${queue}-${index}`, { queue, name: 'OtherJob' })),
      );
    }
    // past the budget: the first half of q2 is read, this is not
    await driver.push([newJob('late', { queue: 'q2', name: 'ImportJob' })]);
    const page = await new JobManager(driver).listPage({ name: 'ImportJob', status: 'queued' });
    expect(page).toEqual({ records: [], more: true });
    // and one record more, to tell whether any is left
    expect(counter.read).toBe(MAX_FILTER_SCAN + 1);
  });

  it('says no more match when the budget ran out exactly at the end of what there is', async () => {
    const { driver } = countingDriver();
    await driver.push(
      Array.from({ length: MAX_FILTER_SCAN }, (_, index) => newJob(`j-${index}`, { name: 'OtherJob' })),
    );
    const page = await new JobManager(driver).listPage({ name: 'ImportJob', status: 'queued' });
    expect(page).toEqual({ records: [], more: false });
  });

  it('spends the budget on the newest finished records across queues, not on the first queue', async () => {
    let now = 1_700_000_000_000;
    // keeping every record (the default keeps 1,000 of each finished status)
    const clocked = new MemoryQueueDriver({
      now: () => now,
      retention: { completedCount: 2 * MAX_FILTER_SCAN },
    });
    // queue a: an old match, then a budget's worth of newer records of another name
    await clocked.push([newJob('a-old', { queue: 'a', name: 'ImportJob' })]);
    await clocked.cancel('a', 'a-old');
    now += 1000;
    const others = Array.from({ length: MAX_FILTER_SCAN }, (_, index) =>
      newJob(`a-${index}`, { queue: 'a', name: 'OtherJob' }),
    );
    await clocked.push(others);
    for (const job of others) await clocked.cancel('a', job.id);
    // queue b: the newest match of all
    now += 1000;
    await clocked.push([newJob('b-new', { queue: 'b', name: 'ImportJob' })]);
    await clocked.cancel('b', 'b-new');
    const page = await new JobManager(clocked).listPage({ name: 'ImportJob', status: 'cancelled', limit: 1 });
    expect(page.records.map((record) => record.id)).toEqual(['b-new']);
    expect(await clocked.getJob('a', 'a-old')).toMatchObject({ status: 'cancelled' });
  });

  it('lists only the jobs of one owner, and of one name and owner together', async () => {
    const { driver } = countingDriver();
    await driver.push([
      newJob('a1', { name: 'ImportJob', owner: 'tenant-a' }),
      newJob('b1', { name: 'ImportJob', owner: 'tenant-b' }),
      newJob('a2', { name: 'ExportJob', owner: 'tenant-a' }),
      newJob('none', { name: 'ImportJob' }),
    ]);
    const jobs = new JobManager(driver);
    const ids = async (options: { name?: string; owner?: string }) =>
      (await jobs.list(options)).map((record) => record.id);
    expect(await ids({ owner: 'tenant-a' })).toEqual(['a1', 'a2']);
    expect(await ids({ owner: 'tenant-a', name: 'ImportJob' })).toEqual(['a1']);
    expect(await ids({ name: 'ImportJob' })).toEqual(['a1', 'b1', 'none']);
    await expect(jobs.list({ owner: 'bad\nowner' })).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
  });

  it('refuses a name no job can have, naming the command that lists them', async () => {
    const jobs = new JobManager(new MemoryQueueDriver());
    for (const name of ['', '9lives', 'a b', 'x'.repeat(129)]) {
      await expect(jobs.listPage({ name })).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        message: expect.stringContaining('`npx topiq job:types` lists the registered names'),
      });
    }
  });
});

describe('JobManager.listPage of finished jobs', () => {
  /** Ends job `id` of `queue` as `status` at the clock's time, then moves the clock on 1 s. */
  async function finish(
    clocked: ReturnType<typeof clockedDriver>,
    queue: string,
    id: string,
    status: 'failed' | 'completed' | 'cancelled',
    options: { advance?: boolean } = {},
  ): Promise<void> {
    const { driver } = clocked;
    await driver.push([newJob(id, { queue, maxTries: 1 })]);
    if (status === 'cancelled') await driver.cancel(queue, id);
    else {
      const [job] = (await driver.reserve(queue, reserveOptions())).jobs;
      if (status === 'completed') await driver.complete([{ lease: leaseOf(job!), result: 'null' }]);
      else await driver.fail({ lease: leaseOf(job!), error: { message: 'boom' }, retryInMs: null });
    }
    if (options.advance !== false) clocked.advance(1000);
  }

  it('merges failed, completed and cancelled jobs newest first by finish time, not by status', async () => {
    const clocked = clockedDriver();
    await finish(clocked, 'a', 'old-failed', 'failed');
    await finish(clocked, 'b', 'mid-completed', 'completed');
    await finish(clocked, 'a', 'new-cancelled', 'cancelled');
    await finish(clocked, 'b', 'newest-failed', 'failed');
    const jobs = new JobManager(clocked.driver);
    const order = ['newest-failed', 'new-cancelled', 'mid-completed', 'old-failed'];
    for (const filter of [{}, { name: 'TestJob' }]) {
      const ids = async (limit?: number) =>
        (await jobs.listPage({ ...filter, ...(limit ? { limit } : {}) })).records.map((record) => record.id);
      expect(await ids()).toEqual(order);
      // a limit keeps the newest, whatever their status: the old failed job goes, not the newer ones
      expect(await ids(2)).toEqual(order.slice(0, 2));
      expect(await jobs.listPage({ ...filter, limit: 3 })).toMatchObject({ more: true });
      expect(await jobs.listPage({ ...filter, limit: 4 })).toMatchObject({ more: false });
    }
  });

  it('puts failed before completed and cancelled among jobs finished at the same time, then by queue', async () => {
    const clocked = clockedDriver();
    await finish(clocked, 'b', 'done-b', 'completed', { advance: false });
    await finish(clocked, 'a', 'done-a', 'completed', { advance: false });
    await finish(clocked, 'a', 'cancelled-a', 'cancelled', { advance: false });
    await finish(clocked, 'b', 'failed-b', 'failed', { advance: false });
    const jobs = new JobManager(clocked.driver);
    for (const filter of [{}, { name: 'TestJob' }]) {
      expect((await jobs.list(filter)).map((record) => record.id)).toEqual([
        'failed-b',
        'done-a',
        'done-b',
        'cancelled-a',
      ]);
    }
  });

  it('reads every queue and finished status when filtering, though their first pages would pass the budget', async () => {
    const clocked = clockedDriver();
    // 8 queues x 3 finished statuses = 24 lists, each one record: read first at 500 places a
    // list, the budget of 10,000 would end before the last lists, the newest among them
    for (let queue = 0; queue < 8; queue++) {
      for (const status of ['failed', 'completed', 'cancelled'] as const) {
        await finish(clocked, `q${queue}`, `q${queue}-${status}`, status);
      }
    }
    const page = await new JobManager(clocked.driver).listPage({ name: 'TestJob', limit: 50 });

    expect(page.more).toBe(false);
    expect(page.records).toHaveLength(24);
    expect(page.records[0]?.id).toBe('q7-cancelled'); // the newest of all
  });

  it('reads a page of each finished list and only the pages it uses, not the limit from each', async () => {
    const { driver, counter } = countingDriver();
    for (let queue = 0; queue < 20; queue++) {
      await driver.push(
        Array.from({ length: 1_000 }, (_, index) => newJob(`q${queue}-${index}`, { queue: `q${queue}` })),
      );
      for (let index = 0; index < 1_000; index++) await driver.cancel(`q${queue}`, `q${queue}-${index}`);
    }
    counter.read = 0;
    const page = await new JobManager(driver).listPage({ status: 'cancelled', limit: 900 });

    expect(page.records).toHaveLength(900);
    // a first page of 500 of each of the 20 lists, and the next pages of the lists it takes
    // from: not 901 of each (18,020)
    expect(counter.read).toBeLessThan(15_000);
  });
});

describe('JobManager.cancel', () => {
  it('announces the attempt the record has once cancelled, though a hand-back gave one back after it was read', async () => {
    const driver = new MemoryQueueDriver();
    await driver.push([newJob('j1')]);
    const [reserved] = (await driver.reserve('q', reserveOptions())).jobs; // attempt 1, running
    const cancel = driver.cancel.bind(driver);
    driver.cancel = async (queue, id) => {
      await driver.release([leaseOf(reserved!)]); // its worker stopped meanwhile: attempt given back
      return cancel(queue, id);
    };
    const heard: JobEvent[] = [];
    await driver.subscribeEvents((event) => heard.push(event));
    driver.hasEventListeners = () => true;
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 1 });

    expect(await new JobManager(driver, events).cancel('j1', 'q')).toBe('cancelled');
    events.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard.filter((event) => event.status === 'cancelled')).toMatchObject([{ id: 'j1', attempt: 0 }]);
    expect((await driver.getJob('q', 'j1'))?.attempts).toBe(0);
    await driver.close();
  });
});

describe('JobManager.find', () => {
  it('names every bound that drops finished records when it finds none, failed ones included', async () => {
    const driver = new MemoryQueueDriver();
    const error = await new JobManager(driver).find('gone').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'E_JOB_NOT_FOUND' });
    const { message } = error as Error;
    for (const name of [
      'QUEUE_KEEP_COMPLETED',
      'QUEUE_KEEP_COMPLETED_HOURS',
      'QUEUE_KEEP_FAILED',
      'queue:forget',
    ]) {
      expect(message).toContain(name);
    }
    await driver.close();
  });
});
