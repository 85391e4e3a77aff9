/**
 * A worker that holds a job reserved ahead while none of its lease renewals reach Redis for longer
 * than the lease (its link down a while, or its event loop blocked) does not start that job once a
 * slot frees: the lease may have lapsed, and the reserve that found it lapsed put it back in the
 * queue, where it runs once, not twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Dispatcher, JobRegistry, RedisQueueDriver, Worker } from '../../../core/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { until } from '../../support/until.js';
import { entries, SlowJob, testJobs } from '../../support/test_jobs.js';

const PREFIX = uniqueQueue('ahead-lapse');
const connect = () => new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });
const driverA = connect();
const driverB = connect();
const driverC = connect();
const driverD = connect();

afterAll(async () => {
  await deleteKeys(driverA.redis, PREFIX);
  await Promise.all([driverA.close(), driverB.close(), driverC.close(), driverD.close()]);
});

describe('a job held reserved ahead whose lease no renewal could keep', () => {
  it('is not started by its worker, and runs once, where it is reserved next', async () => {
    const queue = 'lapse';
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driverA, registry);
    const tag = `${PREFIX}-tag`;
    await dispatcher.dispatch(SlowJob, { tag, ms: 1800, honourSignal: false }, { queue });
    const ahead = await dispatcher.dispatch(SlowJob, { tag, ms: 300, honourSignal: false }, { queue });
    // worker A's renewals do not reach Redis for over 2 s, twice its 1 s lease
    const extend = driverA.extend.bind(driverA);
    let cutOff = true;
    driverA.extend = async (...args) => {
      if (cutOff) throw new Error('connection lost');
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
    });
    void a.run();
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
    cutOff = false;
    await until(
      'the held job completed',
      async () => (await driverB.getJob(queue, ahead))?.status === 'completed',
    );
    await sleep(1500); // B ends the slow job and looks for more
    await Promise.all([a.shutdown(), b.shutdown()]);

    expect(entries(tag).filter((entry) => entry.endsWith(ahead))).toEqual([`start ${ahead}`, `end ${ahead}`]);
    expect(log.events('worker.ahead_lease_unconfirmed').length).toBeGreaterThan(0);
  });
});

describe('renewals that hang (a half-open link) while the timer asks for more', () => {
  it('go one at a time, and the held job does not start after its lease lapsed', async () => {
    const queue = 'overlap';
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driverA, registry);
    const tag = `${PREFIX}-hang`;
    await dispatcher.dispatch(SlowJob, { tag, ms: 1800, honourSignal: false }, { queue });
    const ahead = await dispatcher.dispatch(SlowJob, { tag, ms: 300, honourSignal: false }, { queue });
    // worker A's renewals hang (no answer, no error) until the link comes back, then fail
    const extend = driverA.extend.bind(driverA);
    let cutOff = true;
    let restore: () => void = () => {};
    const restored = new Promise<void>((resolve) => {
      restore = resolve;
    });
    driverA.extend = async (...args) => {
      if (cutOff) {
        await restored;
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
    });
    void a.run();
    await until(
      'the slow job runs on A, the other held ahead',
      async () => entries(tag).length === 1 && (await driverA.getJob(queue, ahead))?.status === 'running',
    );
    await sleep(1100);
    const b = new Worker({
      driver: driverB,
      registry,
      queues: [queue],
      leaseMs: 1000,
      prefetch: 0,
      sleep: 0.1,
    });
    void b.run();
    await sleep(1100); // A's slow job ends (1.8 s): its slot frees, 0.8 s after the held job's lease lapsed
    cutOff = false;
    restore();
    await until(
      'the held job completed',
      async () => (await driverB.getJob(queue, ahead))?.status === 'completed',
    );
    await sleep(2500);
    await Promise.all([a.shutdown(), b.shutdown()]);
    expect(entries(tag).filter((entry) => entry.endsWith(ahead))).toEqual([`start ${ahead}`, `end ${ahead}`]);
  });
});

describe('a --max-jobs worker whose held job a renewal finds lost', () => {
  it('wakes, does not count the lost job, and takes its second job, instead of sleeping for good', async () => {
    const queue = 'maxjobs';
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driverC, registry);
    const tag = `${PREFIX}-max`;
    await dispatcher.dispatch(SlowJob, { tag, ms: 1800, honourSignal: false }, { queue });
    const ahead = await dispatcher.dispatch(SlowJob, { tag, ms: 300, honourSignal: false }, { queue });
    const extend = driverC.extend.bind(driverC);
    let cutOff = true;
    driverC.extend = async (...args) => {
      if (cutOff) throw new Error('connection lost');
      return extend(...args);
    };
    const log = capturingLogger('warn');
    const a = new Worker({
      driver: driverC,
      registry,
      queues: [queue],
      leaseMs: 1000,
      prefetch: 1,
      maxJobs: 2,
      sleep: 0.1,
      log: log.logger,
    });
    let outcome: string | undefined;
    void a.run().then((reason) => {
      outcome = reason;
    });
    await until(
      'the slow job runs on A, the other held ahead',
      async () => entries(tag).length === 1 && (await driverC.getJob(queue, ahead))?.status === 'running',
    );
    await sleep(1100);
    const b = new Worker({
      driver: driverD,
      registry,
      queues: [queue],
      leaseMs: 1000,
      prefetch: 0,
      sleep: 0.1,
    });
    void b.run();
    await sleep(1100); // A's slow job ends meanwhile; its held job waits for a renewal
    cutOff = false;
    await until(
      'the held job completed (on B, or on A that took it afresh)',
      async () => (await driverD.getJob(queue, ahead))?.status === 'completed',
    );
    await b.shutdown();
    // the renewal that answered `lost` woke A: it reserves again and ends at its second job, the
    // held one taken afresh or this one (it slept for good before, and the lost held job counted
    // towards --max-jobs as well)
    await dispatcher.dispatch(SlowJob, { tag, ms: 10, honourSignal: false }, { queue });
    await until('A stops', () => outcome !== undefined, 5000);
    expect(outcome).toBe('max-jobs');
    expect(entries(tag).filter((entry) => entry === `start ${ahead}`)).toHaveLength(1);
  });
});
