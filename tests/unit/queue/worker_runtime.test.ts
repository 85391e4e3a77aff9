/**
 * The worker's own bookkeeping on the memory driver: limits, shutdown, backoff, a job class that
 * cannot be built, and what it logs. (Found by review; each failed before its fix.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  Job,
  JobRegistry,
  MAX_LEASE_MS,
  MemoryQueueDriver,
  RedisUnavailableError,
  Worker,
  type WorkerOptions,
} from '../../../core/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { EchoJob, entries, SlowJob, testJobs } from '../../support/test_jobs.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class BrokenCtorJob extends Job<{ n: number }> {
  static override readonly jobName = 'BrokenCtorJob';
  static override readonly maxTries = 1;
  constructor() {
    super();
    throw new Error('API_KEY is not set');
  }
  async handle(): Promise<void> {}
}

const started: number[] = [];
class HalfSecondJob extends Job<{ n: number }> {
  static override readonly jobName = 'HalfSecondJob';
  async handle(): Promise<void> {
    started.push(Date.now());
    await pause(500);
  }
}

/** Fails at once, and its failed() hook never settles. */
class StuckHookJob extends Job<{ n: number }> {
  static override readonly jobName = 'StuckHookJob';
  static override readonly maxTries = 1;
  static override readonly timeout = 0.2;
  async handle(): Promise<void> {
    throw new Error('the device is gone');
  }
  override failed(): Promise<void> {
    return new Promise(() => {});
  }
}

/** Fails at once, and its failed() hook rejects. */
class ThrowingHookJob extends Job<{ n: number }> {
  static override readonly jobName = 'ThrowingHookJob';
  static override readonly maxTries = 1;
  async handle(): Promise<void> {
    throw new Error('the device is gone');
  }
  override async failed(): Promise<void> {
    throw new Error('the alerting service is down');
  }
}

const drivers: MemoryQueueDriver[] = [];
function memoryDriver(): MemoryQueueDriver {
  const driver = new MemoryQueueDriver();
  drivers.push(driver);
  return driver;
}
afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close();
});

/**
 * A memory driver whose cancel broadcasts the test sends itself (`broadcast`), as a stale or
 * forged one would arrive: the driver's own cancels broadcast nothing.
 */
function withCancelBroadcasts() {
  const driver = memoryDriver();
  let listener: ((queue: string, id: string) => void) | undefined;
  driver.subscribeCancels = async (subscriber) => {
    listener = subscriber;
    return async () => {};
  };
  const registry = new JobRegistry().register(...testJobs);
  const dispatcher = new Dispatcher(driver, registry);
  const broadcast = (queue: string, id: string) => listener!(queue, id);
  return { driver, registry, dispatcher, broadcast };
}

/**
 * A worker of one slot running a SlowJob of `ms` with an EchoJob of `value` reserved ahead of
 * it (a fixed prefetch of 1), once both are leased; `options` go to the Worker.
 */
async function holdingOneAhead(
  {
    driver,
    registry,
    dispatcher,
  }: { driver: MemoryQueueDriver; registry: JobRegistry; dispatcher: Dispatcher },
  tag: string,
  { ms = 600, value = 'never', ...options }: { ms?: number; value?: string } & Partial<WorkerOptions> = {},
) {
  await dispatcher.dispatch(SlowJob, { tag, ms, honourSignal: true }, { queue: tag });
  const ahead = await dispatcher.dispatch(EchoJob, { tag, value }, { queue: tag });
  const log = capturingLogger('info');
  const worker = new Worker({ driver, registry, queues: [tag], prefetch: 1, log: log.logger, ...options });
  const done = worker.run();
  while ((await driver.counts(tag)).running < 2) await pause(5); // the echo job is reserved ahead
  return { ahead, worker, done, log };
}

describe('worker runtime', () => {
  it('fails a job whose constructor throws on its last try without an unhandled rejection', async () => {
    const seen: unknown[] = [];
    const onRejection = (reason: unknown) => seen.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const driver = memoryDriver();
      const registry = new JobRegistry().register(BrokenCtorJob);
      const id = await new Dispatcher(driver, registry).dispatch(BrokenCtorJob, { n: 1 }, { queue: 'ctor' });
      expect(await new Worker({ driver, registry, queues: ['ctor'], stopWhenEmpty: true }).run()).toBe(
        'empty',
      );
      await pause(50);
      expect((await driver.getJob('ctor', id))?.status).toBe('failed');
      expect(seen).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('waits out a short LOADING window on shutdown instead of dropping buffered completions', async () => {
    const driver = memoryDriver();
    const complete = driver.complete.bind(driver);
    let failUntil = Number.POSITIVE_INFINITY;
    let tries = 0;
    driver.complete = async (completions) => {
      tries++;
      if (Date.now() < failUntil) throw new Error('LOADING Redis is loading the dataset in memory');
      return complete(completions);
    };
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const id = await dispatcher.dispatch(EchoJob, { tag: 'da', value: 'v' }, { queue: 'drain-acks' });
    const worker = new Worker({ driver, registry, queues: ['drain-acks'] });
    const done = worker.run();
    while ((await driver.counts('drain-acks')).running === 0 || tries === 0) await pause(5);
    failUntil = Date.now() + 300; // a Redis restarting: LOADING for 300 ms
    await worker.shutdown();
    await done;
    expect((await driver.getJob('drain-acks', id))?.status).toBe('completed');
  });

  it('starts no job once its --max-time is up, though slots stay busy until then', async () => {
    const driver = memoryDriver();
    const registry = new JobRegistry().register(HalfSecondJob);
    const dispatcher = new Dispatcher(driver, registry);
    for (let n = 0; n < 3; n++) await dispatcher.dispatch(HalfSecondJob, { n }, { queue: 'max-time' });
    started.length = 0;
    const begin = Date.now();
    expect(await new Worker({ driver, registry, queues: ['max-time'], maxTime: 0.3 }).run()).toBe('max-time');
    expect(started.filter((at) => at - begin > 300)).toEqual([]);
  });

  it('starts no job once the process is past its --memory limit, and runs them under a limit it is within', async () => {
    const driver = memoryDriver();
    const registry = new JobRegistry().register(HalfSecondJob);
    const dispatcher = new Dispatcher(driver, registry);
    for (let n = 0; n < 2; n++) await dispatcher.dispatch(HalfSecondJob, { n }, { queue: 'memory-limit' });
    started.length = 0;
    // any Node process holds more than 1 MB
    expect(await new Worker({ driver, registry, queues: ['memory-limit'], memory: 1 }).run()).toBe('memory');
    expect(started).toEqual([]);
    expect((await driver.counts('memory-limit')).waiting).toBe(2);

    const roomy = new Worker({
      driver,
      registry,
      queues: ['memory-limit'],
      memory: 1e6,
      stopWhenEmpty: true,
    });
    expect(await roomy.run()).toBe('empty');
    expect(started).toHaveLength(2);
  });

  it('logs a start report that fails as worker.start_report_failed and still completes the job', async () => {
    const driver = memoryDriver();
    const extend = driver.extend.bind(driver);
    let reports = 0;
    driver.extend = async (leases, leaseMs, options) => {
      if (options?.started) {
        reports++;
        throw new RedisUnavailableError('Redis at 127.0.0.1:6379 is unreachable');
      }
      return extend(leases, leaseMs, options);
    };
    const registry = new JobRegistry().register(...testJobs);
    const payload = { tag: 'start-report', ms: 1300, honourSignal: true };
    const id = await new Dispatcher(driver, registry).dispatch(SlowJob, payload, { queue: 'start-report' });
    const log = capturingLogger('info');
    const worker = new Worker({ driver, registry, queues: ['start-report'], maxJobs: 1, log: log.logger });
    expect(await worker.run()).toBe('max-jobs');
    expect(reports).toBe(1);
    expect(log.events('worker.start_report_failed')).toHaveLength(1);
    expect((await driver.getJob('start-report', id))?.status).toBe('completed');
  });

  it('stops with --stop-when-empty as soon as its last job ends, not a sleep later', async () => {
    const driver = memoryDriver();
    const registry = new JobRegistry().register(...testJobs);
    const payload = { tag: 'swe', ms: 100, honourSignal: true };
    await new Dispatcher(driver, registry).dispatch(SlowJob, payload, { queue: 'swe' });
    const begin = Date.now();
    expect(await new Worker({ driver, registry, queues: ['swe'], stopWhenEmpty: true }).run()).toBe('empty');
    expect(Date.now() - begin).toBeLessThan(1000); // the default sleep is 3 s
  });

  it('hands jobs reserved ahead back at once on stop, not after the grace period', async () => {
    const driver = memoryDriver();
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const payload = { tag: 'db', ms: 1500, honourSignal: true };
    const first = await dispatcher.dispatch(SlowJob, payload, { queue: 'drain-buffer' });
    const second = await dispatcher.dispatch(SlowJob, payload, { queue: 'drain-buffer' });
    const worker = new Worker({
      driver,
      registry,
      queues: ['drain-buffer'],
      shutdownGraceMs: 5000,
      prefetch: 1, // the second job waits reserved ahead of the one slot
    });
    const done = worker.run();
    while ((await driver.counts('drain-buffer')).running < 2) await pause(5);
    worker.stop();
    await pause(200);
    expect((await driver.getJob('drain-buffer', first))?.status).toBe('running'); // finishing
    expect((await driver.getJob('drain-buffer', second))?.status).toBe('queued');
    await done;
  });

  it('stops at once during the backoff after failed reserves', async () => {
    const driver = memoryDriver();
    let calls = 0;
    driver.reserve = async () => {
      calls++;
      throw new RedisUnavailableError('Redis at 127.0.0.1:6379 is unreachable');
    };
    const worker = new Worker({ driver, registry: new JobRegistry(), queues: ['backoff'] });
    const done = worker.run();
    while (calls < 4) await pause(10); // now in a 1.6 s backoff
    const begin = Date.now();
    await worker.shutdown();
    await done;
    expect(Date.now() - begin).toBeLessThan(500);
  });

  it('ends a reserved-ahead job cancelled when a lease renewal reports its cancel, without running it', async () => {
    const driver = memoryDriver();
    // no cancel broadcasts: the worker learns of the cancel from its next lease renewal
    driver.subscribeCancels = async () => {
      throw new Error('no pub/sub here');
    };
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const tag = 'renewal-cancel';
    const { ahead, worker, done, log } = await holdingOneAhead({ driver, registry, dispatcher }, tag, {
      leaseMs: 150,
    });
    expect(await driver.cancel(tag, ahead)).toBe('running'); // reserved ahead: a cancel is requested
    while ((await driver.getJob(tag, ahead))?.status !== 'cancelled') await pause(10);
    await worker.shutdown();
    await done;
    expect(log.events('job.cancelled')).toMatchObject([{ jobId: ahead, queue: tag, job: 'EchoJob' }]);
    expect(entries(tag)).not.toContain('never@1');
  });

  it('runs a reserved-ahead job later, not failing it, when a cancel broadcast for it was stale or forged', async () => {
    const setup = withCancelBroadcasts();
    const { driver, broadcast } = setup;
    const tag = 'forged-cancel';
    const { ahead, done } = await holdingOneAhead(setup, tag, {
      ms: 300,
      value: 'still-runs',
      stopWhenEmpty: true,
      sleep: 0.1,
    });
    broadcast(tag, ahead); // nobody asked the driver to cancel it
    expect(await done).toBe('empty');
    expect(await driver.getJob(tag, ahead)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(entries(tag)).toContain('still-runs@1');
  });

  it('lets a running job finish when a cancel broadcast for it was stale or forged, and still cancels a real one', async () => {
    const { driver, registry, dispatcher, broadcast } = withCancelBroadcasts();
    const tag = 'forged-running-cancel';
    const kept = await dispatcher.dispatch(SlowJob, { tag, ms: 300, honourSignal: true }, { queue: tag });
    const cancelled = await dispatcher.dispatch(
      SlowJob,
      { tag, ms: 5000, honourSignal: true },
      { queue: tag },
    );
    const worker = new Worker({
      driver,
      registry,
      queues: [tag],
      concurrency: 2,
      stopWhenEmpty: true,
      sleep: 0.1,
    });
    const done = worker.run();
    while ((await driver.counts(tag)).running < 2) await pause(5);
    broadcast(tag, kept); // nobody asked the driver to cancel it
    expect(await driver.cancel(tag, cancelled)).toBe('running');
    broadcast(tag, cancelled); // what driver.cancel broadcasts
    expect(await done).toBe('empty');
    expect(await driver.getJob(tag, kept)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await driver.getJob(tag, cancelled)).toMatchObject({ status: 'cancelled' });
  });

  it('tries again to end a reserved-ahead job whose cancel was requested while Redis is loading', async () => {
    const { driver, registry, dispatcher, broadcast } = withCancelBroadcasts();
    const tag = 'cancel-retry';
    const release = driver.release.bind(driver);
    let refusals = 2;
    driver.release = async (leases) => {
      if (refusals-- > 0) throw new Error('LOADING Redis is loading the dataset in memory');
      return release(leases);
    };
    const { ahead, worker, done, log } = await holdingOneAhead({ driver, registry, dispatcher }, tag);
    expect(await driver.cancel(tag, ahead)).toBe('running');
    broadcast(tag, ahead);
    while ((await driver.getJob(tag, ahead))?.status !== 'cancelled') await pause(10);
    await worker.shutdown();
    await done;
    expect(log.events('job.cancel_retry')).toMatchObject([
      { jobId: ahead, queue: tag, tries: 1 },
      { jobId: ahead, queue: tag, tries: 2 },
    ]);
    expect(log.events('job.cancelled')).toMatchObject([{ jobId: ahead, queue: tag, job: 'EchoJob' }]);
    expect(entries(tag)).not.toContain('never@1');
  });

  it('leaves a reserved-ahead job whose cancel was requested to its lease when Redis refuses to end it, and it still ends cancelled', async () => {
    const { driver, registry, dispatcher, broadcast } = withCancelBroadcasts();
    const tag = 'cancel-failed';
    const release = driver.release.bind(driver);
    let refuse = true;
    driver.release = async (leases) => {
      if (refuse) throw new Error('ERR Error running script: out of order');
      return release(leases);
    };
    const { ahead, worker, done, log } = await holdingOneAhead({ driver, registry, dispatcher }, tag, {
      leaseMs: 150,
    });
    expect(await driver.cancel(tag, ahead)).toBe('running');
    broadcast(tag, ahead);
    while (log.events('job.cancel_failed').length === 0) await pause(5);
    refuse = false;
    // no longer renewed, its lease ends, and the reserve that takes it back ends it
    while ((await driver.getJob(tag, ahead))?.status !== 'cancelled') await pause(10);
    await worker.shutdown();
    await done;
    expect(log.events('job.cancel_retry')).toEqual([]); // a script error is not waited out
    expect(log.events('job.cancel_failed')).toMatchObject([{ jobId: ahead, queue: tag, job: 'EchoJob' }]);
    expect(entries(tag)).not.toContain('never@1');
  });

  it('aborts a running job at its next lease renewal when Redis could not confirm its cancel broadcast', async () => {
    const { driver, registry, dispatcher, broadcast } = withCancelBroadcasts();
    const tag = 'cancel-check-failed';
    const id = await dispatcher.dispatch(SlowJob, { tag, ms: 5000, honourSignal: true }, { queue: tag });
    const log = capturingLogger('info');
    const worker = new Worker({ driver, registry, queues: [tag], leaseMs: 300, log: log.logger });
    const done = worker.run();
    while ((await driver.counts(tag)).running < 1) await pause(5);
    const extend = driver.extend.bind(driver);
    let refusals = 1;
    driver.extend = async (leases, leaseMs, options) => {
      if (refusals-- > 0) throw new RedisUnavailableError('Redis at 127.0.0.1:6379 is not answering.');
      return extend(leases, leaseMs, options);
    };
    expect(await driver.cancel(tag, id)).toBe('running');
    broadcast(tag, id);
    while ((await driver.getJob(tag, id))?.status !== 'cancelled') await pause(10);
    await worker.shutdown();
    await done;
    expect(log.events('job.cancel_check_failed')).toMatchObject([{ jobId: id, queue: tag }]);
    expect(entries(tag)).toContain('aborted: E_JOB_CANCELLED');
  });

  it('logs a completion refused for a lost lease with its job, attempt and duration', async () => {
    const driver = memoryDriver();
    driver.complete = async (completions) => completions.map(() => false);
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const id = await dispatcher.dispatch(EchoJob, { tag: 'll', value: 'v' }, { queue: 'lost-log' });
    const log = capturingLogger('info');
    await new Worker({ driver, registry, queues: ['lost-log'], maxJobs: 1, log: log.logger }).run();
    const [line] = log.events('job.lease_lost');
    expect(line).toMatchObject({ jobId: id, queue: 'lost-log', attempt: 1, job: 'EchoJob' });
    expect(typeof line?.durationMs).toBe('number');
    // it did not complete: no line says it did
    expect(log.events('job.completed')).toEqual([]);
  });

  it("gives up waiting for a failed() hook after the job's timeout, so the slot runs the next job", async () => {
    const driver = memoryDriver();
    const registry = new JobRegistry().register(StuckHookJob);
    const dispatcher = new Dispatcher(driver, registry);
    const ids = [
      await dispatcher.dispatch(StuckHookJob, { n: 1 }, { queue: 'stuck' }),
      await dispatcher.dispatch(StuckHookJob, { n: 2 }, { queue: 'stuck' }),
    ];
    const log = capturingLogger('info');
    const worker = new Worker({
      driver,
      registry,
      queues: ['stuck'],
      concurrency: 1,
      stopWhenEmpty: true,
      log: log.logger,
    });
    expect(await worker.run()).toBe('empty');
    expect((await driver.counts('stuck')).failed).toBe(2);
    expect(log.events('job.failed_hook_timeout').map((line) => line.jobId)).toEqual(ids);
  });

  it('refuses a lease longer than MAX_LEASE_MS, the bound QUEUE_LEASE_MS and --lease share', () => {
    const driver = memoryDriver();
    const registry = new JobRegistry();
    expect(() => new Worker({ driver, registry, queues: ['q'], leaseMs: MAX_LEASE_MS + 1 })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_OPTION',
        message: expect.stringMatching(/^leaseMs must be at most/),
      }),
    );
    expect(() => new Worker({ driver, registry, queues: ['q'], leaseMs: MAX_LEASE_MS })).not.toThrow();
  });

  it('refuses a prefetch that is not a whole number from 0 to 10,000', () => {
    const driver = memoryDriver();
    const registry = new JobRegistry();
    for (const prefetch of [-1, 1.5, 10_001, Number.NaN]) {
      expect(() => new Worker({ driver, registry, queues: ['q'], prefetch })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_OPTION',
          message: expect.stringMatching(/^prefetch must be a whole number from 0 to 10000/),
        }),
      );
    }
    for (const prefetch of [0, 10_000]) {
      expect(() => new Worker({ driver, registry, queues: ['q'], prefetch })).not.toThrow();
    }
  });

  it('refuses a concurrency past 10,000 jobs at once', () => {
    const driver = memoryDriver();
    const registry = new JobRegistry();
    expect(() => new Worker({ driver, registry, queues: ['q'], concurrency: 1e12 })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_OPTION',
        message: expect.stringMatching(/^concurrency must be at most 10000 jobs at once/),
      }),
    );
    expect(() => new Worker({ driver, registry, queues: ['q'], concurrency: 10_000 })).not.toThrow();
  });

  it('logs a failed() hook that rejects as job.failed_hook_error, not as a timeout, and goes on', async () => {
    const driver = memoryDriver();
    const registry = new JobRegistry().register(ThrowingHookJob);
    const id = await new Dispatcher(driver, registry).dispatch(ThrowingHookJob, { n: 1 }, { queue: 'hook' });
    const log = capturingLogger('info');
    const worker = new Worker({ driver, registry, queues: ['hook'], stopWhenEmpty: true, log: log.logger });
    expect(await worker.run()).toBe('empty');
    expect(log.events('job.failed_hook_error')).toEqual([
      expect.objectContaining({
        jobId: id,
        err: expect.objectContaining({ message: 'the alerting service is down' }),
      }),
    ]);
    expect(log.events('job.failed_hook_timeout')).toEqual([]);
  });
});
