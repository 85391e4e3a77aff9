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

afterAll(async () => {
  await deleteKeys(driverA.redis, PREFIX);
  await driverA.close();
  await driverB.close();
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
