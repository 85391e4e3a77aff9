/**
 * Every job status change is published: collected here through `subscribeEvents`, on
 * both drivers, while a real worker runs the jobs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  FailedJobs,
  Job,
  JobEventPublisher,
  type JobEvent,
  JobManager,
  JobRegistry,
  MemoryQueueDriver,
  type QueueDriver,
  RedisQueueDriver,
  Worker,
} from '../../../core/index.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { until as untilMet } from '../../support/until.js';
import { EchoJob, entries, FlakyJob, SlowJob, testJobs } from '../../support/test_jobs.js';

/**
 * Returns an object it keeps, and changes it just after: a number, then a cycle and a function
 * (which its result type cannot say, as a job's shared state may).
 */
class ChangesItsResultJob extends Job<{ tag: string }, { n: number }> {
  static override readonly jobName = 'ChangesItsResultJob';
  async handle(): Promise<{ n: number }> {
    const shared = { n: 1 };
    setImmediate(() => {
      shared.n = 999;
      Object.assign(shared, { self: shared, fn: () => {} });
    });
    return shared;
  }
}

const drivers: [string, () => QueueDriver][] = [
  ['redis', () => new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' })],
  ['memory', () => new MemoryQueueDriver()],
];

describe.each(drivers)('job lifecycle on the %s driver', (label, makeDriver) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(
    workerOptions: { leaseMs?: number; backoff?: number; heartbeatMs?: number } = {},
    driver = makeDriver(),
    eventOptions: { flushIntervalMs?: number } = {},
  ) {
    const events = new JobEventPublisher(driver, true, eventOptions);
    const registry = new JobRegistry().register(...testJobs, ChangesItsResultJob);
    const dispatcher = new Dispatcher(driver, registry, events);
    const jobs = new JobManager(driver, events);
    const queue = uniqueQueue('life');
    const seen: JobEvent[] = [];
    const unsubscribe = await driver.subscribeEvents((event) => {
      if (event.queue === queue) seen.push(event);
    });
    const worker = new Worker({ driver, registry, queues: [queue], events, sleep: 0.2, ...workerOptions });
    cleanups.push(async () => {
      await worker.shutdown();
      await unsubscribe();
      await driver.clear(queue);
      await driver.close();
    });
    const statusesOf = (id: string) => seen.filter((event) => event.id === id).map((event) => event.status);
    const until = (check: () => boolean | Promise<boolean>, timeoutMs = 5000) =>
      untilMet('the awaited job events', check, timeoutMs, () => seen);
    return { driver, dispatcher, events, jobs, queue, worker, seen, statusesOf, until };
  }

  it('publishes queued, running and completed with the result for a job that succeeds', async () => {
    const { dispatcher, queue, worker, seen, statusesOf, until } = await setup();
    const id = await dispatcher.dispatch(EchoJob, { tag: queue, value: 'hi' }, { queue });
    void worker.run();
    await until(() => statusesOf(id).includes('completed'));
    expect(statusesOf(id)).toEqual(['queued', 'running', 'completed']);
    const completed = seen.find((event) => event.id === id && event.status === 'completed');
    expect(completed).toMatchObject({ name: 'EchoJob', queue, attempt: 1, result: { echoed: 'hi' } });
    expect(completed?.worker).toBe(worker.name);
  });

  it('publishes queued before running for jobs a worker of the same process starts at once', async () => {
    // The order holds when the message open at the dispatch is not sent before the store answers
    // (docs/lifecycle.md). That message is sent when its window ends, which may be at any moment
    // after the dispatch: with a window of 60 s every change here goes in one message, sent by
    // the flush below, so only the order the publisher records is checked, not the timing.
    const { dispatcher, events, jobs, queue, worker, statusesOf, until } = await setup({}, makeDriver(), {
      flushIntervalMs: 60_000,
    });
    void worker.run();
    await sleep(50); // idle, waiting for a dispatch's wake-up
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      // every other one with a run-at time already past: queued too, its event carrying runAt
      const options = i % 2 === 0 ? { queue } : { queue, runAt: Date.now() - 1000 };
      ids.push(await dispatcher.dispatch(EchoJob, { tag: queue, value: String(i) }, options));
      await sleep(15);
    }
    await untilMet('every job completed', async () =>
      (await Promise.all(ids.map((id) => jobs.find(id, queue)))).every((job) => job.status === 'completed'),
    );
    // sent now, and again until the completions (recorded once their acknowledgement is stored) are
    await until(() => {
      events.flush();
      return ids.every((id) => statusesOf(id).includes('completed'));
    });
    // the worker, woken by the push, used to record running before the push's answer let the
    // dispatcher record queued: most jobs' events came running, queued, completed
    for (const id of ids) expect(statusesOf(id), id).toEqual(['queued', 'running', 'completed']);
  });

  it('publishes queued before running for jobs a worker of the same process starts at once, whenever the window ends', async () => {
    // the default 10 ms window: it ends at any moment of a dispatch, often before the store answers
    const { dispatcher, jobs, queue, worker, statusesOf, until } = await setup();
    void worker.run();
    await sleep(50);
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      ids.push(await dispatcher.dispatch(EchoJob, { tag: queue, value: String(i) }, { queue }));
      await sleep(i % 13); // gaps of 0 to 12 ms: dispatches fall at every point of a window
    }
    await untilMet('every job completed', async () =>
      (await Promise.all(ids.map((id) => jobs.find(id, queue)))).every((job) => job.status === 'completed'),
    );
    await until(() => ids.every((id) => statusesOf(id).includes('completed')));
    const outOfOrder = ids.filter((id) => statusesOf(id).join() !== 'queued,running,completed');
    expect(outOfOrder.map((id) => `${id}: ${statusesOf(id).join()}`)).toEqual([]);
  });

  it('publishes each retry and the final failure with the error', async () => {
    const { dispatcher, queue, worker, seen, statusesOf, until } = await setup({ backoff: 0 });
    const id = await dispatcher.dispatch(FlakyJob, { tag: queue, failures: 5 }, { queue, maxTries: 2 });
    void worker.run();
    await until(() => statusesOf(id).includes('failed'));
    expect(statusesOf(id)).toEqual(['queued', 'running', 'queued', 'running', 'failed']);
    const failed = seen.find((event) => event.id === id && event.status === 'failed');
    expect(failed).toMatchObject({ attempt: 2, error: { message: 'flaky failure 2' } });
  });

  it('publishes failed, with its error, for a job a crashed worker abandoned on its last try', async () => {
    const { driver, dispatcher, queue, worker, seen, statusesOf, until } = await setup();
    const id = await dispatcher.dispatch(FlakyJob, { tag: queue, failures: 0 }, { queue, maxTries: 1 });
    // a worker that reserves the job, starts it (its renewal says so) and dies: its lease
    // lapses on its last try
    const [held] = (
      await driver.reserve(queue, { count: 1, leaseMs: 50, worker: 'crashed', defaultMaxTries: 1 })
    ).jobs;
    await driver.extend([{ id, queue, token: held!.token }], 50, { started: 1 });
    await sleep(100);
    void worker.run();
    await until(() => statusesOf(id).includes('failed'));
    const failed = seen.find((event) => event.id === id && event.status === 'failed');
    expect(failed).toMatchObject({ name: 'FlakyJob', attempt: 1, error: { code: 'E_LEASE_EXPIRED' } });
  });

  it("publishes the status the job's record got, by the store's clock, whatever the dispatching process's clock says", async () => {
    const { driver, queue, jobs, statusesOf, until } = await setup();
    const events = new JobEventPublisher(driver);
    // a process whose clock runs a minute behind: a run-at time past for the store looks ahead to it
    const behind = new Dispatcher(driver, new JobRegistry().register(...testJobs), events, {
      now: () => Date.now() - 60_000,
    });
    const id = await behind.dispatch(
      EchoJob,
      { tag: queue, value: 'p' },
      { queue, runAt: Date.now() - 1000 },
    );
    events.flush();
    await until(() => statusesOf(id).length > 0);
    expect((await jobs.find(id)).status).toBe('queued');
    expect(statusesOf(id)).toEqual(['queued']);
  });

  it('publishes queued for failed jobs moved back by retry, by id or all at once', async () => {
    const { driver, dispatcher, queue, worker, statusesOf, until } = await setup();
    const byId = await dispatcher.dispatch(FlakyJob, { tag: queue, failures: 1 }, { queue, maxTries: 1 });
    const byAll = await dispatcher.dispatch(FlakyJob, { tag: queue, failures: 1 }, { queue, maxTries: 1 });
    void worker.run();
    await until(() => statusesOf(byId).includes('failed') && statusesOf(byAll).includes('failed'));
    const failed = new FailedJobs(driver, dispatcher.events);
    // each attempt 1 fails (its attempts start over), so a retried job fails again
    const once = ['queued', 'running', 'failed'];
    expect((await failed.retry([byId], queue)).retried).toBe(1);
    await until(() => statusesOf(byId).length === 6);
    expect(statusesOf(byId)).toEqual([...once, ...once]);
    expect(statusesOf(byAll)).toEqual(once);
    expect((await failed.retry('all', queue)).retried).toBe(2);
    await until(() => statusesOf(byAll).length === 6 && statusesOf(byId).length === 9);
    expect(statusesOf(byAll)).toEqual([...once, ...once]);
  });

  it('publishes a delayed job that came due past its expiresAt as queued, then expired, in that order', async () => {
    const { dispatcher, queue, worker, statusesOf, until } = await setup();
    const id = await dispatcher.dispatch(
      EchoJob,
      { tag: queue, value: 'late' },
      { queue, delay: 0.03, expiresAt: Date.now() + 60 },
    );
    await sleep(120);
    void worker.run();
    await until(() => statusesOf(id).length === 3);
    expect(statusesOf(id)).toEqual(['delayed', 'queued', 'expired']);
  });

  it('publishes queued when a delayed job or a delayed retry comes due', async () => {
    const { dispatcher, queue, worker, statusesOf, until } = await setup({ backoff: 0.05 });
    const delayed = await dispatcher.dispatch(EchoJob, { tag: queue, value: 'd' }, { queue, delay: 0.05 });
    const flaky = await dispatcher.dispatch(FlakyJob, { tag: queue, failures: 1 }, { queue, maxTries: 2 });
    void worker.run();
    await until(() => statusesOf(delayed).includes('completed') && statusesOf(flaky).includes('completed'));
    expect(statusesOf(delayed)).toEqual(['delayed', 'queued', 'running', 'completed']);
    expect(statusesOf(flaky)).toEqual(['queued', 'running', 'delayed', 'queued', 'running', 'completed']);
  });

  it("publishes a delayed retry with the run-at time its record got, by the store's clock", async () => {
    const check = async (driver: QueueDriver) => {
      const { dispatcher, jobs, queue, worker, seen, statusesOf, until } = await setup(
        { backoff: 60 },
        driver,
      );
      const id = await dispatcher.dispatch(FlakyJob, { tag: queue, failures: 1 }, { queue, maxTries: 2 });
      void worker.run();
      await until(() => statusesOf(id).includes('delayed'));
      const record = await jobs.find(id);
      expect(record.status).toBe('delayed');
      expect(seen.find((event) => event.id === id && event.status === 'delayed')?.runAt).toBe(record.runAt);
    };
    await check(makeDriver());
    if (label === 'memory') {
      // a store whose clock runs a minute ahead of the worker's: the record's time, not the worker's
      await check(new MemoryQueueDriver({ now: () => Date.now() + 60_000 }));
    }
  });

  it('publishes cancelled for a running job whose worker died after its cancel was asked for', async () => {
    const { driver, dispatcher, jobs, queue, worker, seen, statusesOf, until } = await setup();
    const id = await dispatcher.dispatch(FlakyJob, { tag: queue, failures: 0 }, { queue, maxTries: 3 });
    // a worker that reserves the job, starts it and dies; the cancel reaches only its lease
    const [held] = (
      await driver.reserve(queue, { count: 1, leaseMs: 50, worker: 'crashed', defaultMaxTries: 3 })
    ).jobs;
    await driver.extend([{ id, queue, token: held!.token }], 50, { started: 1 });
    expect(await jobs.cancel(id)).toBe('running');
    await sleep(100);
    void worker.run();
    await until(() => statusesOf(id).includes('cancelled'));
    expect(statusesOf(id)).toEqual(['queued', 'cancelled']);
    expect(seen.find((event) => event.status === 'cancelled')).toMatchObject({
      name: 'FlakyJob',
      attempt: 1,
    });
    expect(entries(queue)).toEqual([]);
  });

  it('publishes delayed, pending and released, cancelled and expired jobs', async () => {
    const { dispatcher, jobs, queue, worker, statusesOf, until } = await setup();
    const delayed = await dispatcher.dispatch(EchoJob, { tag: queue, value: 'd' }, { queue, delay: 60 });
    const held = await dispatcher.dispatch(EchoJob, { tag: queue, value: 'h' }, { queue, hold: true });
    const doomed = await dispatcher.dispatch(EchoJob, { tag: queue, value: 'x' }, { queue, delay: 60 });
    const stale = await dispatcher.dispatch(
      EchoJob,
      { tag: queue, value: 's' },
      { queue, expiresAt: Date.now() - 1 },
    );
    expect(await jobs.cancel(doomed)).toBe('cancelled');
    expect(await jobs.release(held)).toBe('queued');
    void worker.run();
    await until(() => statusesOf(held).includes('completed') && statusesOf(stale).includes('expired'));
    expect(statusesOf(delayed)).toEqual(['delayed']);
    expect(statusesOf(held)).toEqual(['pending', 'queued', 'running', 'completed']);
    expect(statusesOf(doomed)).toEqual(['delayed', 'cancelled']);
    expect(statusesOf(stale)).toEqual(['queued', 'expired']);
    expect(entries(queue)).toEqual(['h@1']);
  });

  it('cancels a running job at once, without waiting for a lease renewal, and does not retry it', async () => {
    const { dispatcher, jobs, queue, worker, statusesOf, until } = await setup({ leaseMs: 60_000 });
    const id = await dispatcher.dispatch(
      SlowJob,
      { tag: queue, ms: 60_000, honourSignal: true },
      { queue, maxTries: 3 },
    );
    void worker.run();
    await until(() => statusesOf(id).includes('running'));
    const requestedAt = Date.now();
    expect(await jobs.cancel(id)).toBe('running');
    await until(() => statusesOf(id).includes('cancelled'));
    expect(Date.now() - requestedAt).toBeLessThan(2000);
    expect(entries(queue)).toContain('aborted: E_JOB_CANCELLED');
    expect((await jobs.find(id)).status).toBe('cancelled');
    await sleep(300);
    expect(statusesOf(id)).toEqual(['queued', 'running', 'cancelled']);
  });

  it('publishes the result as stored, though the job changes the object it returned before the event goes out', async () => {
    const { dispatcher, jobs, queue, worker, seen, statusesOf, until } = await setup();
    const changed = await dispatcher.dispatch(ChangesItsResultJob, { tag: queue }, { queue });
    const next = await dispatcher.dispatch(EchoJob, { tag: queue, value: 'after' }, { queue });
    void worker.run();
    // the worker lives on to run the next job: no flush threw on a cycle or a function
    await until(() => statusesOf(next).includes('completed'));
    const completed = seen.find((event) => event.id === changed && event.status === 'completed');
    expect(completed?.result).toEqual({ n: 1 });
    expect((await jobs.find(changed)).result).toEqual({ n: 1 });
  });

  it('keeps delivering to a listener that threw: only that event is lost to it, and its error is reported', async () => {
    const { driver, dispatcher, queue, statusesOf, until } = await setup();
    const heard: string[] = [];
    const reported: { error: unknown; id: string }[] = [];
    let first = true;
    const unsubscribe = await driver.subscribeEvents(
      (event) => {
        if (event.queue !== queue) return;
        if (first) {
          first = false;
          throw new Error('listener bug');
        }
        heard.push(event.id);
      },
      (error, event) => reported.push({ error, id: event.id }),
    );
    try {
      // one dispatch call: its three queued events travel in one message
      const ids = await dispatcher.dispatchMany(
        ['a', 'b', 'c'].map((value) => ({
          job: EchoJob,
          payload: { tag: queue, value },
          options: { queue },
        })),
      );
      await until(() => ids.every((id) => statusesOf(id).includes('queued')) && heard.length >= 2);
      expect(reported).toHaveLength(1);
      expect(reported[0]!.id).toBe(ids[0]);
      expect((reported[0]!.error as Error).message).toBe('listener bug');
      expect(heard).toEqual(ids.slice(1));
    } finally {
      await unsubscribe();
    }
  });

  it('reports queue statistics: counts, completions in the last minute, the oldest wait', async () => {
    const { dispatcher, driver, queue, worker, until } = await setup();
    for (let i = 0; i < 3; i++) await dispatcher.dispatch(EchoJob, { tag: queue, value: `${i}` }, { queue });
    await sleep(50);
    const before = await driver.stats(queue);
    expect(before).toMatchObject({ queue, waiting: 3, running: 0, completedLastMinute: 0 });
    expect(before.oldestWaitingMs).toBeGreaterThanOrEqual(40);
    void worker.run();
    await until(async () => (await driver.stats(queue)).completedLastMinute === 3);
    expect(await driver.stats(queue)).toMatchObject({ waiting: 0, oldestWaitingMs: 0 });
  });

  it('lists a running worker with its queues and running jobs, and drops it when it stops', async () => {
    const { dispatcher, driver, queue, worker, until } = await setup({ heartbeatMs: 100 });
    const id = await dispatcher.dispatch(SlowJob, { tag: queue, ms: 1000, honourSignal: true }, { queue });
    void worker.run();
    await until(
      async () => (await driver.workers()).some((w) => w.id === worker.name && w.runningJobIds.includes(id)),
      8000,
    );
    const info = (await driver.workers()).find((w) => w.id === worker.name);
    expect(info).toMatchObject({ pid: process.pid, queues: [queue], concurrency: 1 });
    await worker.shutdown();
    expect((await driver.workers()).some((w) => w.id === worker.name)).toBe(false);
  });
});
