/**
 * A worker of several queues whose acknowledgements on one queue are refused for good until a
 * key is mended (its completed list replaced by hand: docs/delivery.md): the other queues'
 * jobs are acknowledged as usual, and the refused ones stay leased to the worker, their jobs
 * not run again, until the key is mended. A key whose damage refuses that queue's lease
 * renewals too (its active set, its leases) fails no renewal of the other queues' jobs. A queue
 * whose reserves are refused so, first in the worker's strict order, holds back none of the later.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  Dispatcher,
  Job,
  type JobContext,
  JobRegistry,
  RedisQueueDriver,
  Worker,
  type WorkerOptions,
} from '../../../core/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { sleep } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { EchoJob, entries, note, SlowJob } from '../../support/test_jobs.js';
import { until } from '../../support/until.js';

/** The key {@link BreakKeyJob} replaces by hand (as an operator might), if any. */
let breaking: { redis: Redis; key: string } | undefined;

/** Replaces a key of its own queue by hand, then returns: its completion is refused from then on. */
class BreakKeyJob extends Job<{ tag: string }> {
  static override readonly jobName = 'BreakKeyJob';
  async handle({ tag }: { tag: string }) {
    if (breaking) await breaking.redis.set(breaking.key, 'damaged by hand');
    note(tag, 'broke');
  }
}

/** Replaces a key of its own queue by hand, then keeps running a while (it stops at its signal). */
class BreakAndHoldJob extends Job<{ tag: string }> {
  static override readonly jobName = 'BreakAndHoldJob';
  static override readonly maxTries = 1;
  async handle({ tag }: { tag: string }, { signal }: JobContext) {
    if (breaking) await breaking.redis.set(breaking.key, 'damaged by hand');
    note(tag, 'broke');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  breaking = undefined;
});

/** A Redis driver of its own prefix, deleted after the test, and an id for the test's names. */
function redisDriver(name: string): { driver: RedisQueueDriver; id: string } {
  const id = randomBytes(4).toString('hex');
  const prefix = `topiq-test-${name}-${id}`;
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
  cleanups.push(async () => {
    await deleteKeys(driver.redis, prefix);
    await driver.close();
  });
  return { driver, id };
}

/** Runs a worker of `queues` (a lease of 900 ms, renewed every 300 ms) until the test ends. */
function startWorker(
  options: Pick<WorkerOptions, 'driver' | 'registry' | 'queues' | 'log' | 'concurrency'>,
): Worker {
  const worker = new Worker({ leaseMs: 900, sleep: 0.2, shutdownGraceMs: 200, ...options });
  const running = worker.run();
  cleanups.push(async () => {
    await worker.shutdown();
    await running;
  });
  return worker;
}

describe('a worker whose acknowledgements on one queue are refused', () => {
  it("acknowledges its other queue's jobs, and keeps the refused ones leased, not run again, until the key is mended", async () => {
    const { driver, id } = redisDriver('ack-refused');
    const [broken, healthy] = ['broken', 'healthy'];
    const completedList = driver.keys.queue(broken).completed;
    await driver.redis.set(completedList, 'not a list'); // damaged by hand
    const dispatcher = new Dispatcher(driver);
    const tag = `ack-refused-${id}`;
    const stuck = await dispatcher.dispatch(EchoJob, { tag, value: 'broken' }, { queue: broken });
    const log = capturingLogger('warn');
    startWorker({
      driver,
      registry: new JobRegistry().register(EchoJob),
      queues: [broken, healthy],
      log: log.logger,
    });
    await until('the broken queue refuses an acknowledgement', () => log.events('ack.retry').length > 0);

    const ids = await dispatcher.dispatchMany(
      Array.from({ length: 5 }, (_, i) => ({
        job: EchoJob,
        payload: { tag, value: `h${i}` },
        options: { queue: healthy },
      })),
    );
    await until(
      'the healthy queue is acknowledged',
      async () => (await driver.counts(healthy)).completed === 5,
    );
    expect(
      (await Promise.all(ids.map((each) => driver.getJob(healthy, each)))).map((job) => job?.status),
    ).toEqual(Array(5).fill('completed'));

    // three leases long: renewed meanwhile, the refused job is neither taken back nor run again
    await sleep(2700);
    expect(entries(tag).sort()).toEqual(['broken@1', 'h0@1', 'h1@1', 'h2@1', 'h3@1', 'h4@1']);
    expect(await driver.getJob(broken, stuck)).toMatchObject({ status: 'running', attempts: 1 });

    await driver.redis.del(completedList); // mended
    await until(
      'the refused job is acknowledged',
      async () => (await driver.getJob(broken, stuck))?.status === 'completed',
    );
    expect(entries(tag)).toHaveLength(6);
    expect(log.events('ack.retry')[0]).toMatchObject({ queue: broken });
  });

  it.each(['active', 'leases'] as const)(
    "keeps renewing its other queue's running job when the refused queue's %s key refuses renewals too",
    async (keyName) => {
      const { driver, id } = redisDriver('ack-refused');
      const [healthy, broken] = ['healthy', 'broken'];
      breaking = { redis: driver.redis, key: driver.keys.queue(broken)[keyName] };
      const dispatcher = new Dispatcher(driver);
      const tag = `ack-refused-${id}`;
      const slow = await dispatcher.dispatch(
        SlowJob,
        { tag, ms: 2500, honourSignal: true },
        { queue: healthy },
      );
      await dispatcher.dispatch(BreakKeyJob, { tag }, { queue: broken });
      const log = capturingLogger('warn');
      startWorker({
        driver,
        registry: new JobRegistry().register(SlowJob).register(BreakKeyJob),
        queues: [healthy, broken],
        concurrency: 2,
        log: log.logger,
      });
      await until('the broken queue refuses an acknowledgement', () => log.events('ack.retry').length > 0);
      await until(
        'the slow job is completed',
        async () => (await driver.getJob(healthy, slow))?.status === 'completed',
      );
      // ran once to its end, its lease renewed all along
      expect(entries(tag).filter((entry) => entry !== 'broke')).toEqual([`start ${slow}`, `end ${slow}`]);
      expect(log.events('worker.renew_failed')).toEqual([]);
    },
  );
});

describe('a worker one of whose queues refuses its reserves', () => {
  it('serves its later queues meanwhile, and that queue once the key is mended', async () => {
    const { driver, id } = redisDriver('rsv-refused');
    const [broken, healthy] = ['broken', 'healthy'];
    const dispatcher = new Dispatcher(driver);
    const tag = `reserve-refused-${id}`;
    const first = await dispatcher.dispatch(EchoJob, { tag, value: 'first' }, { queue: broken });
    const leases = driver.keys.queue(broken).leases;
    await driver.redis.set(leases, 'damaged by hand');
    const ids = await dispatcher.dispatchMany(
      Array.from({ length: 3 }, (_, i) => ({
        job: EchoJob,
        payload: { tag, value: `h${i}` },
        options: { queue: healthy },
      })),
    );
    const log = capturingLogger('warn');
    startWorker({
      driver,
      registry: new JobRegistry().register(EchoJob),
      queues: [broken, healthy], // strict order: the broken queue first
      log: log.logger,
    });
    await until('the later queue is served', async () => (await driver.counts(healthy)).completed === 3);
    // logged once, and asked again with backoff, not at every reserve round
    expect(log.events('worker.reserve_failed')).toHaveLength(1);
    expect(log.events('worker.reserve_failed')[0]).toMatchObject({
      queue: broken,
      err: expect.objectContaining({ code: 'E_REDIS_WRONG_TYPE' }),
    });
    expect(
      (await Promise.all(ids.map((each) => driver.getJob(healthy, each)))).map((job) => job?.status),
    ).toEqual(Array(3).fill('completed'));

    await driver.redis.del(leases); // mended
    await until(
      'the first queue is served again',
      async () => (await driver.getJob(broken, first))?.status === 'completed',
    );
  });
});

describe('a worker running a job of a queue whose leases cannot be renewed', () => {
  it.each(['active', 'leases'] as const)(
    "keeps renewing its other queue's running job (the %s key replaced by hand), and stops the refused one",
    async (keyName) => {
      const { driver, id } = redisDriver('rnw-refused');
      const [healthy, broken] = ['healthy', 'broken'];
      breaking = { redis: driver.redis, key: driver.keys.queue(broken)[keyName] };
      const dispatcher = new Dispatcher(driver);
      const tag = `renew-refused-${id}`;
      const slow = await dispatcher.dispatch(
        SlowJob,
        { tag, ms: 2500, honourSignal: true },
        { queue: healthy },
      );
      const holding = await dispatcher.dispatch(BreakAndHoldJob, { tag }, { queue: broken });
      const log = capturingLogger('warn');
      startWorker({
        driver,
        registry: new JobRegistry().register(SlowJob).register(BreakAndHoldJob),
        queues: [healthy, broken],
        concurrency: 2,
        log: log.logger,
      });
      await until(
        'the slow job is completed',
        async () => (await driver.getJob(healthy, slow))?.status === 'completed',
      );
      expect(entries(tag).filter((entry) => entry !== 'broke')).toEqual([`start ${slow}`, `end ${slow}`]);
      expect(log.events('worker.renew_failed')).toEqual([]);
      // the refused queue's job was answered lost at its first renewal: its handler stopped
      expect(log.events('job.lease_lost').map((line) => line.jobId)).toContain(holding);
    },
  );
});

describe('a stopping worker one of whose queues refuses its hand-back', () => {
  it("hands back the other queue's running job and says so, and names only the refused one as not handed back", async () => {
    const { driver, id } = redisDriver('drn-refused');
    const [healthy, broken] = ['healthy', 'broken'];
    breaking = { redis: driver.redis, key: driver.keys.queue(broken).wait };
    const tag = `drain-refused-${id}`;
    const dispatcher = new Dispatcher(driver);
    const slow = await dispatcher.dispatch(
      SlowJob,
      { tag, ms: 5000, honourSignal: true },
      { queue: healthy },
    );
    const holding = await dispatcher.dispatch(BreakAndHoldJob, { tag }, { queue: broken });
    const log = capturingLogger('info');
    const worker = startWorker({
      driver,
      registry: new JobRegistry().register(SlowJob).register(BreakAndHoldJob),
      queues: [healthy, broken],
      concurrency: 2,
      log: log.logger,
    });
    await until('both run', () => entries(tag).includes('broke') && entries(tag).includes(`start ${slow}`));
    await worker.shutdown();

    expect((await driver.getJob(healthy, slow))?.status).toBe('queued');
    expect(log.events('job.released').map((line) => line.jobId)).toEqual([slow]);
    expect(log.events('worker.release_failed')).toEqual([
      expect.objectContaining({ jobIds: [holding], queues: [broken] }),
    ]);
  });
});
