/**
 * A worker stopped while its link to Redis answers nothing (packets dropped, the connection never
 * closed: a NAT that forgot the flow, a host gone without a reset), where a call neither answers
 * nor fails: its stop is bounded all the same. Its running jobs get their signal when the grace
 * period ends, it stops SETTLE_WAIT_MS after that at the latest, its driver closes, and another
 * worker takes back and runs what it could not hand back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Dispatcher, JobRegistry, RedisQueueDriver, Worker } from '../../../core/index.js';
import { SETTLE_WAIT_MS } from '../../../core/queue/worker_drain.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { TcpProxy } from '../../support/tcp_proxy.js';
import { until } from '../../support/until.js';
import { entries, SlowJob, testJobs } from '../../support/test_jobs.js';

const PREFIX = uniqueQueue('stop-cut-off');
const direct = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });

afterAll(async () => {
  await deleteKeys(direct.redis, PREFIX);
  await direct.close();
});

describe('a worker stopped while its Redis link answers nothing', () => {
  it('fires its running jobs’ signals when the grace period ends, stops within SETTLE_WAIT_MS after it, and its jobs run elsewhere', async () => {
    const queue = 'cut-off';
    const tag = `${PREFIX}-cut-off`;
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(direct, registry);
    const ids = await dispatcher.dispatchMany(
      ['a', 'b', 'c'].map(() => ({
        job: SlowJob,
        payload: { tag, ms: 1500, honourSignal: true },
        options: { queue, maxTries: 3 },
      })),
    );
    const proxy = await TcpProxy.start(6379);
    const driver = new RedisQueueDriver({ connection: `redis://127.0.0.1:${proxy.port}`, prefix: PREFIX });
    const log = capturingLogger('warn');
    // two run, one is held ahead
    const worker = new Worker({
      driver,
      registry,
      queues: [queue],
      concurrency: 2,
      prefetch: 1,
      leaseMs: 3000,
      shutdownGraceMs: 300,
      log: log.logger,
    });
    void worker.run();
    await until('two jobs run, the third is held', async () => {
      const records = await Promise.all(ids.map((id) => direct.getJob(queue, id)));
      return entries(tag).length === 2 && records.every((record) => record?.status === 'running');
    });
    proxy.freeze();
    const stopAt = Date.now();
    const stopping = worker.shutdown();
    // the signals fire when the grace period ends (300 ms), not once Redis answers
    await until(
      'the running jobs are signalled',
      () => entries(tag).filter((entry) => entry.startsWith('aborted')).length === 2,
      1000,
    );
    await stopping;
    const stoppedAfter = Date.now() - stopAt;
    await driver.close();
    const closedAfter = Date.now() - stopAt;

    expect(entries(tag).filter((entry) => entry.startsWith('aborted'))).toEqual([
      'aborted: WorkerShutdownError: worker shutting down',
      'aborted: WorkerShutdownError: worker shutting down',
    ]);
    expect(stoppedAfter).toBeLessThan(300 + SETTLE_WAIT_MS + 1000 + 1000);
    expect(closedAfter).toBeLessThan(stoppedAfter + 2000 + 500);
    expect(log.events('worker.stop_unanswered').length).toBeGreaterThan(0);
    await proxy.close();

    // what it could not hand back, its leases lapsed, runs on another worker
    const other = new Worker({
      driver: direct,
      registry,
      queues: [queue],
      concurrency: 3,
      leaseMs: 3000,
      sleep: 0.2,
    });
    void other.run();
    await until(
      'every job completed elsewhere',
      async () =>
        (await Promise.all(ids.map((id) => direct.getJob(queue, id)))).every(
          (record) => record?.status === 'completed',
        ),
      10_000,
    );
    await other.shutdown();
  }, 20_000);
});

describe('a worker whose hand-back of the jobs it held ahead hangs at its stop', () => {
  it('hands back its running job when the grace period ends all the same, not once that one answers', async () => {
    const queue = 'ahead-hangs';
    const tag = `${PREFIX}-ahead-hangs`;
    const registry = new JobRegistry().register(...testJobs);
    const [running, held] = await new Dispatcher(direct, registry).dispatchMany(
      ['running', 'held'].map(() => ({
        job: SlowJob,
        payload: { tag, ms: 3000, honourSignal: true },
        options: { queue, maxTries: 3 },
      })),
    );
    const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });
    // the first hand-back (the held job, at the stop) answers only when the test lets it; the
    // later ones at once
    const release = driver.release.bind(driver);
    let calls = 0;
    let letGo: () => void = () => {};
    const heldBack = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    driver.release = (...args) => (calls++ === 0 ? heldBack.then(() => release(...args)) : release(...args));
    const worker = new Worker({
      driver,
      registry,
      queues: [queue],
      concurrency: 1,
      prefetch: 1,
      shutdownGraceMs: 200,
    });
    void worker.run();
    await until('one job runs, the other is held', async () => {
      const records = await Promise.all([running!, held!].map((id) => direct.getJob(queue, id)));
      return entries(tag).length === 1 && records.every((record) => record?.status === 'running');
    });
    const stopping = worker.shutdown();
    const runningId = entries(tag)[0]!.slice('start '.length);
    await until(
      'the running job is back in its queue, its attempt given back',
      async () => (await direct.getJob(queue, runningId))?.status === 'queued',
      1500,
    );
    letGo();
    await stopping;
    expect(await direct.getJob(queue, held!)).toMatchObject({ status: 'queued', attempts: 0 });
    await driver.close();
  }, 20_000);
});
