import { afterAll, describe, expect, it, vi } from 'vitest';
import { Dispatcher, JobRegistry, RedisQueueDriver, Worker } from '../../../core/index.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { holdReserveOf } from '../../support/held_reserve.js';
import { until as untilMet } from '../../support/until.js';
import { EchoJob, entries, SlowJob, testJobs } from '../../support/test_jobs.js';
import { defineWorkerBehaviour } from './worker_behaviour.js';

defineWorkerBehaviour(
  'redis',
  () => new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' }),
);

/** A driver and a queue of its own for one describe block, their keys deleted after it. */
function redisQueue(label: string): { driver: RedisQueueDriver; queue: string } {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
  const queue = uniqueQueue(label);
  afterAll(async () => {
    await deleteKeys(driver.redis, `topiq-test:{${queue}}`);
    await driver.close();
  });
  return { driver, queue };
}

describe('Worker on the redis driver: damaged records', () => {
  const { driver, queue } = redisQueue('damaged');

  it('fails a job whose stored spec was damaged into the failed store and runs the others', async () => {
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const payload = { tag: 't', value: 'v' };
    const [bad] = await dispatcher.dispatchMany([
      { job: EchoJob, payload, options: { queue } },
      { job: EchoJob, payload, options: { queue } },
    ]);
    await driver.redis.hset(driver.keys.job(queue, bad!), 'spec', 'no line breaks at all');
    const worker = new Worker({ driver, registry, queues: [queue], stopWhenEmpty: true });
    expect(await worker.run()).toBe('empty');
    expect(await driver.counts(queue)).toMatchObject({ failed: 1, completed: 1, running: 0, waiting: 0 });
    const record = await driver.redis.hget(driver.keys.job(queue, bad!), 'error');
    expect(JSON.parse(record!)).toMatchObject({ code: 'E_JOB_NOT_REGISTERED' });
  });
});

describe('Worker on the redis driver: forged cancels', () => {
  const { driver, queue } = redisQueue('forged-cancel');

  it('does not stop when empty while a job it held ahead, whose cancel was forged, goes back to its queue', async () => {
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const tag = queue;
    await dispatcher.dispatch(SlowJob, { tag, ms: 200, honourSignal: false }, { queue });
    const held = await dispatcher.dispatch(EchoJob, { tag, value: 'held' }, { queue });
    // the hand-back takes longer than the running job: the queue looks empty meanwhile
    const release = driver.release.bind(driver);
    driver.release = async (leases) => {
      await sleep(600);
      return release(leases);
    };
    const worker = new Worker({ driver, registry, queues: [queue], prefetch: 1, stopWhenEmpty: true });
    const done = worker.run();
    await untilMet('the slow job runs', () => entries(tag).length === 1);
    // anyone may PUBLISH: a broadcast for a job whose cancel nobody asked for
    await driver.redis.publish(driver.keys.cancelsChannel, JSON.stringify({ queue, id: held }));
    expect(await done).toBe('empty');
    expect(entries(tag)).toContain('held@1');
    expect((await driver.getJob(queue, held))?.status).toBe('completed');
  });
});

describe('Worker on the redis driver: held jobs past their expiresAt', () => {
  const { driver, queue } = redisQueue('held-expired');

  it('does not stop when empty while a held job past its expiresAt goes back, and leaves it expired', async () => {
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const tag = queue;
    await dispatcher.dispatch(SlowJob, { tag, ms: 1500, honourSignal: false }, { queue });
    const held = await dispatcher.dispatch(
      EchoJob,
      { tag, value: 'held' },
      { queue, expiresAt: Date.now() + 1000 },
    );
    // the hand-back takes longer than a reserve: the queue looks empty meanwhile
    const release = driver.release.bind(driver);
    const released: string[] = [];
    driver.release = async (leases) => {
      released.push(...leases.map((lease) => lease.id));
      await sleep(400);
      return release(leases);
    };
    const worker = new Worker({
      driver,
      registry,
      queues: [queue],
      prefetch: 1,
      stopWhenEmpty: true,
      sleep: 0.05,
    });
    expect(await worker.run()).toBe('empty');
    // held ahead, then handed back past its time (not found expired by the first reserve)
    expect(released).toEqual([held]);
    expect(entries(tag)).not.toContain('held@1');
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0 });
    expect((await driver.getJob(queue, held))?.status).toBe('expired');
  });
});

describe('Worker on the redis driver: cancels heard while a reserve answers', () => {
  const { driver, queue } = redisQueue('heard-cancel');

  it("keeps the cancel of its job though more than 1,000 for other queues' jobs come before the reply", async () => {
    const registry = new JobRegistry().register(...testJobs);
    const tag = queue;
    const id = await new Dispatcher(driver, registry).dispatch(EchoJob, { tag, value: 'never' }, { queue });
    const held = holdReserveOf(driver, id);
    let heard = 0;
    const stopHearing = await driver.subscribeCancels(() => heard++);
    const worker = new Worker({ driver, registry, queues: [queue], sleep: 0.2 });
    const done = worker.run();
    await held.leased;
    expect(await driver.cancel(queue, id)).toBe('running');
    // a bulk cancel in another queue, heard before this worker's reserve answers
    const pipeline = driver.redis.pipeline();
    for (let i = 0; i < 1100; i++) {
      pipeline.publish(
        driver.keys.cancelsChannel,
        JSON.stringify({ queue: 'another-queue', id: `bulk-${i}` }),
      );
    }
    await pipeline.exec();
    await untilMet('every broadcast is heard', () => heard === 1101);
    held.answer();
    await untilMet(
      'the job ends cancelled',
      async () => (await driver.getJob(queue, id))?.status === 'cancelled',
    );
    await stopHearing();
    await worker.shutdown();
    await done;
    expect(entries(tag)).toEqual([]);
  });
});

describe('Worker on the redis driver: clocks', () => {
  const { driver, queue } = redisQueue('skew');
  afterAll(() => vi.restoreAllMocks());

  it('waits its sleep between reserves while idle though its clock runs 60 s ahead of Redis', async () => {
    const registry = new JobRegistry().register(...testJobs);
    await new Dispatcher(driver, registry).dispatch(EchoJob, { tag: 's', value: 'v' }, { queue });
    // another worker holds the queue's only job: its lease ends in 30 s by the Redis clock
    const held = await driver.reserve(queue, {
      count: 1,
      leaseMs: 30_000,
      worker: 'other',
      defaultMaxTries: 3,
    });
    expect(held.jobs).toHaveLength(1);
    let calls = 0;
    const reserve = driver.reserve.bind(driver);
    driver.reserve = (name, options) => {
      calls++;
      return reserve(name, options);
    };
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 60_000);
    const worker = new Worker({ driver, registry, queues: [queue], sleep: 1 });
    const done = worker.run();
    await sleep(1000);
    await worker.shutdown();
    await done;
    vi.restoreAllMocks();
    // one reserve, one after the 1 s sleep; a worker that read the deadline as past polled every 10 ms
    expect(calls).toBeLessThanOrEqual(3);
  });
});

describe('Worker on the redis driver: jobs that grow long', () => {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
  const queues: string[] = [];
  afterAll(async () => {
    for (const queue of queues) await deleteKeys(driver.redis, `topiq-test:{${queue}}`);
    await driver.close();
  });

  /**
   * An early worker (on `earlyDriver`, leases of `leaseMs`) runs 100 short jobs, so it holds
   * jobs reserved ahead, then 16 jobs of 2 s; once four of those run, a late worker starts.
   * Resolves when every job is done and both workers have stopped.
   */
  async function shortThenLong(earlyDriver: RedisQueueDriver, leaseMs?: number) {
    const queue = uniqueQueue('grow-long');
    queues.push(queue);
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const tag = queue;
    const log = capturingLogger('info');
    const settings = {
      registry,
      queues: [queue],
      concurrency: 4,
      sleep: 0.1,
      ...(leaseMs ? { leaseMs } : {}),
    };
    const early = new Worker({ ...settings, driver: earlyDriver, log: log.logger });
    const runs = [early.run()];
    // short jobs first: the worker times them against its reserve calls and holds jobs ahead
    // (enough of them that the first, slow while the code is cold, no longer weighs)
    await dispatcher.dispatchMany(
      Array.from({ length: 100 }, (_, n) => ({
        job: EchoJob,
        payload: { tag, value: `e${n}` },
        options: { queue },
      })),
    );
    await untilMet('the short jobs are done', async () => (await driver.counts(queue)).completed === 100);
    const long = await dispatcher.dispatchMany(
      Array.from({ length: 16 }, () => ({
        job: SlowJob,
        payload: { tag, ms: 2000, honourSignal: true },
        options: { queue },
      })),
    );
    await untilMet('four long jobs run', () => early.runningJobIds.length === 4);
    const held = (await driver.counts(queue)).running - 4;
    const late = new Worker({ ...settings, driver });
    runs.push(late.run());
    await untilMet(
      'every long job is done',
      async () => (await driver.counts(queue)).completed === 116,
      20_000,
    );
    await Promise.all([early.shutdown(), late.shutdown()]);
    await Promise.all(runs);
    const records = await Promise.all(long.map((id) => driver.getJob(queue, id)));
    return { tag, log, held, late, records };
  }

  it('hands back the jobs it reserved ahead while jobs were short once they grow long, for an idle worker', async () => {
    const { tag, log, held, late, records } = await shortThenLong(driver);
    expect(held).toBeGreaterThan(4); // reserved ahead, as for short jobs
    // once its first long jobs ended, the early worker handed back what it still held, and the
    // late one, idle until then, ran some of them
    const handedBack = log.events('worker.handed_back').flatMap((line) => line.jobIds as string[]);
    expect(handedBack.length).toBeGreaterThan(0);
    expect(log.events('worker.handed_back').every((line) => (line.queues as string[])[0] === tag)).toBe(true);
    const byLate = records.filter((record) => record?.worker === late.name).map((record) => record!.id);
    expect(byLate.filter((id) => handedBack.includes(id)).length).toBeGreaterThan(0);
    // each ran once, its handed-back attempt not counted
    expect(entries(tag).filter((entry) => entry.startsWith('start'))).toHaveLength(16);
    expect(records.every((record) => record?.status === 'completed' && record.attempts === 1)).toBe(true);
  });

  it('leaves the jobs it could not hand back to their leases, and each still runs once, its attempt given back', async () => {
    const refusing = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
    const release = refusing.release.bind(refusing);
    let refused = 0;
    // the first release is the hand-back (shutdown's comes after every job is done)
    refusing.release = (leases) => {
      if (refused++ > 0) return release(leases);
      return Promise.reject(new Error('release refused by a test'));
    };
    try {
      const { tag, log, held, records } = await shortThenLong(refusing, 3000);
      expect(held).toBeGreaterThan(4);
      const [failure] = log.events('worker.hand_back_failed');
      const failed = (failure?.jobIds ?? []) as string[];
      expect(failed.length).toBeGreaterThan(0);
      expect(log.events('worker.handed_back')).toEqual([]);
      // the refused jobs waited out their leases (no longer renewed), then ran once, on either
      // worker, and the reserve that took them back did not count the attempt that never ran
      expect(entries(tag).filter((entry) => entry.startsWith('start'))).toHaveLength(16);
      // none ran under the lease the refused release held (kept, each would have run at once,
      // a slot being free): each was reserved again, so its record's start time, that of its
      // latest lease, comes after that lease lapsed (3 s after its last renewal, every 1 s)
      const refusedAt = Date.parse(failure!.time as string);
      const refusedRecords = records.filter((record) => failed.includes(record!.id));
      expect(refusedRecords).toHaveLength(failed.length);
      for (const record of refusedRecords) expect(record!.startedAt! - refusedAt).toBeGreaterThan(1000);
      expect(records.every((record) => record?.status === 'completed' && record.attempts === 1)).toBe(true);
    } finally {
      await refusing.close();
    }
  });
});
