/**
 * A worker that holds a job reserved ahead while none of its lease renewals reach Redis for longer
 * than the lease (its link down a while, or its event loop blocked) does not start that job once a
 * slot frees: the lease may have lapsed, and the reserve that found it lapsed put it back in the
 * queue, where it runs once, not twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  Job,
  type JobContext,
  JobRegistry,
  RedisQueueDriver,
  Worker,
  type WorkerStopReason,
} from '../../../core/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { until } from '../../support/until.js';
import { entries, note, SlowJob, testJobs } from '../../support/test_jobs.js';

const PREFIX = uniqueQueue('ahead-lapse');
const drivers: RedisQueueDriver[] = [];
const connect = () => {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });
  drivers.push(driver);
  return driver;
};

afterAll(async () => {
  await deleteKeys(drivers[0]!.redis, PREFIX);
  await Promise.all(drivers.map((driver) => driver.close()));
});

/**
 * Worker A (1 s lease, one job held ahead) runs a slow job (1.8 s) with a short one held ahead,
 * while its renewals do not reach Redis: they fail at once, or hang until the link comes back
 * (`hang`). 1.1 s on, both leases lapsed, worker B starts on the queue and takes them back; 1.1 s
 * later A's slow job has ended and its slot is free. The test then calls `restore()`.
 */
async function heldWhileCutOff(label: string, options: { hang?: boolean; maxJobs?: number } = {}) {
  const queue = label;
  const tag = `${PREFIX}-${label}`;
  const [driverA, driverB] = [connect(), connect()];
  const registry = new JobRegistry().register(...testJobs);
  const dispatcher = new Dispatcher(driverA, registry);
  await dispatcher.dispatch(SlowJob, { tag, ms: 1800, honourSignal: false }, { queue });
  const ahead = await dispatcher.dispatch(SlowJob, { tag, ms: 300, honourSignal: false }, { queue });
  const extend = driverA.extend.bind(driverA);
  let cutOff = true;
  let reconnect: () => void = () => {};
  const reconnected = new Promise<void>((resolve) => {
    reconnect = resolve;
  });
  driverA.extend = async (...args) => {
    if (cutOff) {
      if (options.hang) await reconnected;
      throw new Error('connection lost');
    }
    return extend(...args);
  };
  const log = capturingLogger('warn');
  const a = new Worker({
    driver: driverA,
    registry,
    queues: [queue],
    leaseMs: 1000,
    prefetch: 1,
    sleep: 0.1,
    log: log.logger,
    ...(options.maxJobs === undefined ? {} : { maxJobs: options.maxJobs }),
  });
  let outcome: WorkerStopReason | undefined;
  void a.run().then((reason) => {
    outcome = reason;
  });
  await until(
    'the slow job runs on A, the other held ahead',
    async () => entries(tag).length === 1 && (await driverA.getJob(queue, ahead))?.status === 'running',
  );
  await sleep(1100);
  // worker B reserves: it finds both leases lapsed, puts both back, and runs the slow one
  const b = new Worker({
    driver: driverB,
    registry,
    queues: [queue],
    leaseMs: 1000,
    prefetch: 0,
    sleep: 0.1,
  });
  void b.run();
  await sleep(1100); // A's slow job ends meanwhile (at 1.8 s): its slot frees
  return {
    queue,
    tag,
    ahead,
    a,
    b,
    log,
    dispatcher,
    outcome: () => outcome,
    restore: () => {
      cutOff = false;
      reconnect();
    },
    heldCompleted: () =>
      until(
        'the held job completed',
        async () => (await driverB.getJob(queue, ahead))?.status === 'completed',
      ),
  };
}

describe('a job held reserved ahead whose lease no renewal could keep', () => {
  it('is not started by its worker, and runs once, where it is reserved next', async () => {
    const { tag, ahead, a, b, log, restore, heldCompleted } = await heldWhileCutOff('lapse');
    restore();
    await heldCompleted();
    await sleep(1500); // B ends the slow job and looks for more
    await Promise.all([a.shutdown(), b.shutdown()]);

    expect(entries(tag).filter((entry) => entry.endsWith(ahead))).toEqual([`start ${ahead}`, `end ${ahead}`]);
    expect(log.events('worker.ahead_lease_unconfirmed').length).toBeGreaterThan(0);
  });
});

describe('renewals that hang (a half-open link) while the timer asks for more', () => {
  it('go one at a time, and the held job does not start after its lease lapsed', async () => {
    // A's slot frees 0.8 s after the held job's lease lapsed, its renewals still hanging
    const { tag, ahead, a, b, restore, heldCompleted } = await heldWhileCutOff('overlap', { hang: true });
    restore();
    await heldCompleted();
    await sleep(2500);
    await Promise.all([a.shutdown(), b.shutdown()]);
    expect(entries(tag).filter((entry) => entry.endsWith(ahead))).toEqual([`start ${ahead}`, `end ${ahead}`]);
  });
});

describe('a --max-jobs worker whose held job a renewal finds lost', () => {
  it('wakes, does not count the lost job, and takes its second job, instead of sleeping for good', async () => {
    const { queue, tag, ahead, b, dispatcher, outcome, restore, heldCompleted } = await heldWhileCutOff(
      'maxjobs',
      { maxJobs: 2 },
    );
    restore();
    // on B, or on A that took it afresh
    await heldCompleted();
    await b.shutdown();
    // the renewal that answered `lost` woke A: it reserves again and ends at its second job, the
    // held one taken afresh or this one (it slept for good before, and the lost held job counted
    // towards --max-jobs as well)
    await dispatcher.dispatch(SlowJob, { tag, ms: 10, honourSignal: false }, { queue });
    await until('A stops', () => outcome() !== undefined, 5000);
    expect(outcome()).toBe('max-jobs');
    expect(entries(tag).filter((entry) => entry === `start ${ahead}`)).toHaveLength(1);
  });
});

describe('a running job whose lease renewals hang (its worker cut off from Redis)', () => {
  it('is aborted before its lease can lapse, and runs again where it is taken back, never twice at once', async () => {
    const queue = 'running-cut';
    const tag = `${PREFIX}-running-cut`;
    const [driverA, driverB] = [connect(), connect()];
    const registry = new JobRegistry().register(...testJobs);
    const id = await new Dispatcher(driverA, registry).dispatch(
      SlowJob,
      { tag, ms: 2000, honourSignal: true },
      { queue, maxTries: 3 },
    );
    // a link that drops packets and never closes: a renewal neither answers nor fails
    const extend = driverA.extend.bind(driverA);
    let reconnect: () => void = () => {};
    const reconnected = new Promise<void>((resolve) => {
      reconnect = resolve;
    });
    driverA.extend = async (...args) => {
      await reconnected;
      return extend(...args);
    };
    const log = capturingLogger('warn');
    const options = { registry, queues: [queue], leaseMs: 1500, prefetch: 0, sleep: 0.1 };
    const a = new Worker({ ...options, driver: driverA, log: log.logger });
    void a.run();
    await until('the job runs on A', () => entries(tag).length === 1);
    await sleep(1600); // its lease lapsed, with no renewal
    const b = new Worker({ ...options, driver: driverB });
    void b.run();
    await until(
      'the job completed on B',
      async () => (await driverB.getJob(queue, id))?.status === 'completed',
    );
    reconnect();
    await Promise.all([a.shutdown(), b.shutdown()]);

    // A's run stopped before B's began
    expect(entries(tag)).toEqual([`start ${id}`, 'aborted: E_LEASE_LOST', `start ${id}`, `end ${id}`]);
    expect(log.events('worker.lease_unconfirmed')).toEqual([
      expect.objectContaining({ jobIds: [id], silentMs: expect.any(Number) }),
    ]);
    expect(log.events('job.lease_lost')).toHaveLength(1);
  });
});

/** Blocks the event loop for `ms` at its start (synchronous work), then runs 300 ms more. */
class BlockingJob extends Job<{ tag: string; ms: number }> {
  static override readonly jobName = 'BlockingJob';
  async handle({ tag, ms }: { tag: string; ms: number }, context: JobContext) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // busy: no timer, no I/O
    }
    await sleep(300);
    note(tag, `end ${context.jobId}`);
  }
}

describe('a running job that blocks the event loop for most of its lease, but not all', () => {
  it('is not aborted: the renewal sent when the loop is free again answers in time', async () => {
    const queue = 'stall';
    const tag = `${PREFIX}-stall`;
    const driver = connect();
    const registry = new JobRegistry().register(BlockingJob);
    // 1,100 ms of a 1,200 ms lease: past the 5/6 at which a silent link aborts its jobs
    const id = await new Dispatcher(driver, registry).dispatch(BlockingJob, { tag, ms: 1100 }, { queue });
    const log = capturingLogger('warn');
    const worker = new Worker({ driver, registry, queues: [queue], leaseMs: 1200, log: log.logger });
    void worker.run();
    await until('the job completed', async () => (await driver.getJob(queue, id))?.status === 'completed');
    await worker.shutdown();

    expect(entries(tag)).toEqual([`end ${id}`]);
    expect(log.events('worker.lease_unconfirmed')).toEqual([]);
    expect(log.events('job.lease_lost')).toEqual([]);
  });
});
