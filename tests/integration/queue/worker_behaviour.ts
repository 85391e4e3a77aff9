/**
 * What a Worker does with jobs, proven against a given driver (Redis and memory run it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DispatchOptions,
  Dispatcher,
  isProgressEvent,
  Job,
  type JobContext,
  type JobEvent,
  JobEventPublisher,
  type JobProgressEvent,
  JobRegistry,
  type QueueDriver,
  Worker,
  type WorkerOptions,
} from '../../../core/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { holdReserveOf } from '../../support/held_reserve.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { until as untilMet } from '../../support/until.js';
import {
  DoomedJob,
  EchoJob,
  entries,
  FlakyJob,
  note,
  ProgressJob,
  SlowJob,
  StepsJob,
  testJobs,
} from '../../support/test_jobs.js';

export function defineWorkerBehaviour(label: string, makeDriver: () => QueueDriver): void {
  describe(`Worker on the ${label} driver`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    function setup(overrides: Partial<WorkerOptions> = {}) {
      const driver = makeDriver();
      const registry = new JobRegistry().register(...testJobs);
      const dispatcher = new Dispatcher(driver, registry);
      const queue = uniqueQueue(label);
      const tag = queue;
      const workers: Worker[] = [];
      const startWorker = (options: Partial<WorkerOptions> = {}) => {
        const worker = new Worker({
          driver,
          registry,
          queues: [queue],
          sleep: 0.2,
          ...overrides,
          ...options,
        });
        workers.push(worker);
        const done = worker.run();
        return { worker, done };
      };
      const dispatch = <J extends typeof EchoJob | typeof FlakyJob | typeof DoomedJob | typeof SlowJob>(
        job: J,
        payload: Parameters<InstanceType<J>['handle']>[0],
        options: DispatchOptions = {},
      ) => dispatcher.dispatch(job, payload as never, { queue, ...options });
      cleanups.push(async () => {
        await Promise.all(workers.map((worker) => worker.shutdown()));
        await driver.clear(queue);
        await driver.removeFailed(queue, { all: true });
        await driver.close();
      });
      return { driver, registry, dispatcher, queue, tag, startWorker, dispatch };
    }

    /** Plays a worker 'dead' that leased job `id`, reported it started, and died: its lease lapses. */
    async function dieWhileRunning(driver: QueueDriver, queue: string, id: string): Promise<void> {
      const { jobs } = await driver.reserve(queue, {
        count: 1,
        leaseMs: 100,
        worker: 'dead',
        defaultMaxTries: 3,
      });
      await driver.extend([{ id, queue, token: jobs[0]!.token }], 100, { started: 1 });
      await sleep(250);
    }

    const until = (check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> =>
      untilMet('the awaited job state', check, timeoutMs);

    it('runs a dispatched job and stores what handle() returned', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const id = await dispatch(EchoJob, { tag, value: 'hello' });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'completed');
      expect(await driver.getJob(queue, id)).toMatchObject({ result: { echoed: 'hello' }, attempts: 1 });
      expect(entries(tag)).toEqual(['hello@1']);
    });

    it('retries a failing job until it succeeds within maxTries', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const id = await dispatch(FlakyJob, { tag, failures: 2 });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'completed');
      expect(entries(tag)).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    });

    it('moves a job to the failed store after its last try and calls failed() once', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ backoff: 0.05 });
      const id = await dispatch(FlakyJob, { tag, failures: 10 });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'failed');
      await until(() => entries(tag).length === 4);
      expect(entries(tag)).toEqual(['attempt 1', 'attempt 2', 'attempt 3', 'failed: flaky failure 3']);
      const [record] = await driver.listFailed(queue, 0, 10);
      expect(record).toMatchObject({ id, attempts: 3, error: { message: 'flaky failure 3' } });
      expect(record?.error?.stack).toContain('flaky failure 3');
    });

    it.each([
      ['waits, as it stops, for', 10_000, 300, true],
      ['stops at the end of its grace period without', 200, 3_000, false],
    ])(
      '%s the failed() hook of a job a dead worker left on its last try',
      async (_what, shutdownGraceMs, hookMs, finished) => {
        const { driver, registry, dispatcher, queue, tag, startWorker } = setup();
        const hooked: string[] = [];
        class LateHookJob extends Job<{ tag: string }> {
          static override readonly maxTries = 1;
          async handle() {}
          override async failed(error: Error, payload: { tag: string }) {
            await sleep(hookMs);
            hooked.push(`${payload.tag} failed: ${(error as { code?: string }).code}`);
          }
        }
        registry.register(LateHookJob);
        const id = await dispatcher.dispatch(LateHookJob, { tag }, { queue });
        await dieWhileRunning(driver, queue, id); // on the job's last try
        const log = capturingLogger('warn');
        const { done } = startWorker({ stopWhenEmpty: true, shutdownGraceMs, log: log.logger });
        expect(await done).toBe('empty');
        expect(await driver.getJob(queue, id)).toMatchObject({ status: 'failed', attempts: 1 });
        // one line, with the fields of every job line, and the worker that ran the job
        expect(log.events('job.failed')).toMatchObject([
          { jobId: id, queue, job: 'LateHookJob', attempt: 1, code: 'E_LEASE_EXPIRED', ranOn: 'dead' },
        ]);
        if (finished) {
          // before, the hook ran unawaited: run() returned, and the app closed, under it
          expect(hooked).toEqual([`${tag} failed: E_LEASE_EXPIRED`]);
          expect(log.events('worker.failed_hooks_left')).toEqual([]);
        } else {
          // a hook may run as long as its job's timeout; a stop does not wait that long
          expect(hooked).toEqual([]);
          expect(log.events('worker.failed_hooks_left')).toMatchObject([{ count: 1 }]);
        }
      },
    );

    it('logs job.reclaimed for a job it takes back from a dead worker, then runs it', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const id = await dispatch(EchoJob, { tag, value: 'again' }, { maxTries: 3 });
      await dieWhileRunning(driver, queue, id); // with tries left
      const log = capturingLogger('info');
      const { done } = startWorker({ stopWhenEmpty: true, log: log.logger });
      expect(await done).toBe('empty');
      expect(log.events('job.reclaimed')).toMatchObject([{ jobId: id, queue, job: 'EchoJob', attempt: 1 }]);
      expect(await driver.getJob(queue, id)).toMatchObject({ status: 'completed', attempts: 2 });
    });

    it('fails an UnrecoverableError for good on the first try', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const id = await dispatch(DoomedJob, { tag });
      startWorker();
      await until(() => entries(tag).length === 2);
      expect(entries(tag)).toEqual(['ran', 'failed: E_UNRECOVERABLE']);
      expect(await driver.getJob(queue, id)).toMatchObject({ status: 'failed', attempts: 1 });
    });

    it('fails for good at once, its handler run once, a job whose result cannot be read', async () => {
      const { driver, registry, dispatcher, queue, tag, startWorker } = setup();
      class LazyResultJob extends Job<{ tag: string }> {
        static override readonly maxTries = 3;
        async handle({ tag }: { tag: string }) {
          note(tag, 'sent'); // its side effect: an e-mail, a row written
          // a lazy ORM field of a detached entity
          return Object.defineProperty({}, 'entity', {
            enumerable: true,
            get() {
              throw new Error('detached entity: lazy field cannot be loaded');
            },
          }) as never;
        }
      }
      registry.register(LazyResultJob);
      const id = await dispatcher.dispatch(LazyResultJob, { tag }, { queue });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'failed');
      await sleep(100);
      expect(entries(tag)).toEqual(['sent']);
      const record = await driver.getJob(queue, id);
      expect(record).toMatchObject({ attempts: 1, error: { code: 'E_INVALID_PAYLOAD' } });
      expect(record?.error?.message).toMatch(/result\.entity could not be read/);
    });

    it('fails for good at once a job whose bad argument to progress() throws E_INVALID_OPTION', async () => {
      const { driver, registry, dispatcher, queue, tag, startWorker } = setup();
      class BadProgressJob extends Job<{ tag: string }> {
        static override readonly maxTries = 3;
        async handle({ tag }: { tag: string }, { progress }: JobContext) {
          note(tag, 'ran');
          progress(Number.NaN); // 0 / 0 * 100: the same on every try
        }
      }
      registry.register(BadProgressJob);
      const id = await dispatcher.dispatch(BadProgressJob, { tag }, { queue });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'failed');
      expect(entries(tag)).toEqual(['ran']);
      expect(await driver.getJob(queue, id)).toMatchObject({
        attempts: 1,
        error: { code: 'E_INVALID_OPTION' },
      });
    });

    it('counts the synchronous start of handle() towards its timeout', async () => {
      const { driver, registry, dispatcher, queue, tag, startWorker } = setup();
      class SyncHeavyJob extends Job<{ tag: string }, string> {
        static override readonly maxTries = 1;
        static override readonly timeout = 0.3;
        handle() {
          const end = Date.now() + 500; // parsing a big file before the first await
          while (Date.now() < end) {}
          return sleep(300).then(() => 'done');
        }
      }
      registry.register(SyncHeavyJob);
      const id = await dispatcher.dispatch(SyncHeavyJob, { tag }, { queue });
      startWorker();
      await until(async () =>
        ['failed', 'completed'].includes((await driver.getJob(queue, id))?.status ?? ''),
      );
      expect(await driver.getJob(queue, id)).toMatchObject({
        status: 'failed',
        error: { code: 'E_JOB_TIMEOUT' },
      });
    });

    it("logs a failed attempt's own duration, not the wait for the store to record it", async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const fail = driver.fail.bind(driver);
      driver.fail = async (failure) => {
        await sleep(400); // a slow store
        return fail(failure);
      };
      const log = capturingLogger('warn');
      const id = await dispatch(FlakyJob, { tag, failures: 5 }, { maxTries: 1 });
      startWorker({ log: log.logger });
      await until(async () => (await driver.getJob(queue, id))?.status === 'failed');
      const [line] = log.events('job.failed');
      expect(line?.durationMs as number).toBeLessThan(200);
    });

    it('fails a job whose name is not registered with E_JOB_NOT_REGISTERED and keeps working', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      await driver.push([
        { id: 'rogue', name: 'child_process.exec', queue, payload: '{}', maxTries: 3, priority: 0 },
      ]);
      const next = await dispatch(EchoJob, { tag, value: 'after' });
      startWorker();
      await until(async () => (await driver.getJob(queue, next))?.status === 'completed');
      expect(await driver.getJob(queue, 'rogue')).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'E_JOB_NOT_REGISTERED' },
      });
    });

    it('times out a job that ignores its signal, fires the signal, and moves on', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ timeout: 0.2 });
      const stuck = await dispatch(SlowJob, { tag, ms: 60_000, honourSignal: false });
      const polite = await dispatch(SlowJob, { tag, ms: 60_000, honourSignal: true });
      const after = await dispatch(EchoJob, { tag, value: 'next' });
      startWorker({ concurrency: 1 });
      await until(async () => (await driver.getJob(queue, after))?.status === 'completed');
      expect(await driver.getJob(queue, stuck)).toMatchObject({
        status: 'failed',
        error: { code: 'E_JOB_TIMEOUT' },
      });
      expect(await driver.getJob(queue, polite)).toMatchObject({
        status: 'failed',
        error: { code: 'E_JOB_TIMEOUT' },
      });
      expect(entries(tag)).toContain('aborted: E_JOB_TIMEOUT');
    });

    it('serves queues in strict order: a later queue only when earlier ones are empty', async () => {
      const { dispatcher, queue, tag, startWorker } = setup();
      const high = `${queue}-high`;
      for (let i = 0; i < 3; i++) await dispatcher.dispatch(EchoJob, { tag, value: `low${i}` }, { queue });
      for (let i = 0; i < 3; i++)
        await dispatcher.dispatch(EchoJob, { tag, value: `high${i}` }, { queue: high });
      startWorker({ queues: [high, queue] });
      await until(() => entries(tag).length === 6);
      expect(entries(tag)).toEqual(['high0@1', 'high1@1', 'high2@1', 'low0@1', 'low1@1', 'low2@1']);
    });

    it('keeps strict queue order when jobs it finds expired use up the places of a reserve', async () => {
      const { dispatcher, queue, tag, startWorker } = setup();
      const high = `${queue}-high`;
      await dispatcher.dispatch(EchoJob, { tag, value: 'low' }, { queue });
      await dispatcher.dispatch(
        EchoJob,
        { tag, value: 'gone' },
        { queue: high, expiresAt: Date.now() - 1000 },
      );
      await dispatcher.dispatch(EchoJob, { tag, value: 'high' }, { queue: high });
      startWorker({ queues: [high, queue], concurrency: 1, prefetch: 0 });
      await until(() => entries(tag).length === 2);
      expect(entries(tag)).toEqual(['high@1', 'low@1']);
    });

    it('runs up to `concurrency` jobs at once', async () => {
      const { tag, startWorker, dispatch } = setup();
      for (let i = 0; i < 6; i++) await dispatch(SlowJob, { tag, ms: 300, honourSignal: true });
      startWorker({ concurrency: 3 });
      await sleep(150);
      expect(entries(tag).filter((e) => e.startsWith('start'))).toHaveLength(3);
      await until(() => entries(tag).filter((e) => e.startsWith('end')).length === 6);
    });

    it('finishes running jobs within the grace period on shutdown and releases the rest', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ shutdownGraceMs: 300, concurrency: 2 });
      const quick = await dispatch(SlowJob, { tag, ms: 100, honourSignal: true });
      const long = await dispatch(SlowJob, { tag, ms: 60_000, honourSignal: true });
      const { worker, done } = startWorker();
      await until(() => entries(tag).filter((e) => e.startsWith('start')).length === 2);
      worker.stop();
      expect(await done).toBe('stopped');
      expect((await driver.getJob(queue, quick))?.status).toBe('completed');
      expect(await driver.getJob(queue, long)).toMatchObject({ status: 'queued', attempts: 0 });
    });

    it('announces queued again on shutdown only for the jobs it started, not for those it held ahead', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ shutdownGraceMs: 100 });
      const heard: JobEvent[] = [];
      const unsubscribe = await driver.subscribeEvents((event) => heard.push(event));
      cleanups.push(unsubscribe);
      const started = await dispatch(SlowJob, { tag, ms: 60_000, honourSignal: true });
      const held = [
        await dispatch(EchoJob, { tag, value: 'a' }),
        await dispatch(EchoJob, { tag, value: 'b' }),
      ];
      const { worker } = startWorker({
        concurrency: 1,
        prefetch: 2,
        events: new JobEventPublisher(driver, true, { flushIntervalMs: 5 }),
      });
      await until(async () => (await driver.counts(queue)).running === 3); // one runs, two held
      await worker.shutdown();
      // (this dispatcher publishes no events: the worker's are all there is)
      await until(() => heard.filter((event) => event.id === started).length === 2);
      await sleep(50); // a late event would come within this
      const statuses = (id: string) => heard.filter((event) => event.id === id).map((event) => event.status);
      expect(statuses(started)).toEqual(['running', 'queued']);
      // never announced running, so never announced back: a follower saw it queued all along
      for (const id of held) expect(statuses(id)).toEqual([]);
      for (const id of held) expect((await driver.getJob(queue, id))?.status).toBe('queued');
    });

    it('fails, not expires, a job it handed back on shutdown after it started, once it comes due past expiresAt', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ shutdownGraceMs: 100 });
      const id = await dispatch(
        SlowJob,
        { tag, ms: 60_000, honourSignal: true },
        { expiresAt: Date.now() + 600 },
      );
      const { worker, done } = startWorker();
      await until(() => entries(tag).length === 1); // started
      worker.stop();
      expect(await done).toBe('stopped');
      expect(await driver.getJob(queue, id)).toMatchObject({ status: 'queued', attempts: 0 });
      await sleep(650);
      expect(await startWorker({ stopWhenEmpty: true }).done).toBe('empty');
      expect(await driver.getJob(queue, id)).toMatchObject({
        status: 'failed',
        error: { code: 'E_JOB_EXPIRED' },
      });
    });

    it('lets a running job finish past the grace period when it stops for its --max-time', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ shutdownGraceMs: 100 });
      const id = await dispatch(SlowJob, { tag, ms: 900, honourSignal: true });
      // lease renewals every 100 ms: the limit is seen while the job runs
      const { done } = startWorker({ maxTime: 0.2, leaseMs: 300 });
      expect(await done).toBe('max-time');
      // handed back after the grace period, a job longer than the time between two such stops
      // would run again at every one, its try never counted
      expect(await driver.getJob(queue, id)).toMatchObject({ status: 'completed', attempts: 1 });
    });

    it('hands back a job it lets finish after its --max-time once a stop comes, after the grace period', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ shutdownGraceMs: 100 });
      const id = await dispatch(SlowJob, { tag, ms: 60_000, honourSignal: true });
      const log = capturingLogger('info');
      const { worker, done } = startWorker({ maxTime: 0.2, leaseMs: 300, log: log.logger });
      await until(() => log.events('worker.finishing').length > 0); // past its max-time: finishing the job
      expect((await driver.getJob(queue, id))?.status).toBe('running');
      const stoppedAt = Date.now();
      worker.stop();
      expect(await done).toBe('max-time');
      expect(Date.now() - stoppedAt).toBeLessThan(5000);
      expect(await driver.getJob(queue, id)).toMatchObject({ status: 'queued', attempts: 0 });
    });

    it('stops when empty, after max jobs, or after one job with --once', async () => {
      const { tag, startWorker, dispatch } = setup();
      for (let i = 0; i < 3; i++) await dispatch(EchoJob, { tag, value: `v${i}` });
      expect(await startWorker({ once: true }).done).toBe('once');
      expect(entries(tag)).toEqual(['v0@1']);
      expect(await startWorker({ maxJobs: 1 }).done).toBe('max-jobs');
      expect(await startWorker({ stopWhenEmpty: true }).done).toBe('empty');
      expect(entries(tag)).toEqual(['v0@1', 'v1@1', 'v2@1']);
    });

    it('does not count a reserved-ahead job its cancel ended towards maxJobs', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const first = await dispatch(SlowJob, { tag, ms: 300, honourSignal: false });
      const ahead = await dispatch(EchoJob, { tag, value: 'cancelled' });
      await dispatch(EchoJob, { tag, value: 'next' });
      const { done } = startWorker({ maxJobs: 2, prefetch: 1 });
      await until(() => entries(tag).length === 1); // the first runs, the second is held ahead
      expect(await driver.cancel(queue, ahead)).toBe('running');
      await until(async () => (await driver.getJob(queue, ahead))?.status === 'cancelled');
      expect(await done).toBe('max-jobs');
      expect(entries(tag)).toEqual([`start ${first}`, `end ${first}`, 'next@1']);
    });

    it('expires, never running it, a job whose expiresAt is the very start of 1970 (0, which drivers read as never)', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const ids = [
        await dispatch(EchoJob, { tag, value: 'zero' }, { expiresAt: 0 }),
        await dispatch(EchoJob, { tag, value: 'epoch' }, { expiresAt: new Date(0) }),
      ];
      expect(await startWorker({ stopWhenEmpty: true }).done).toBe('empty');
      expect(entries(tag)).toEqual([]);
      for (const id of ids) expect((await driver.getJob(queue, id))?.status).toBe('expired');
    });

    it('warns once when another live worker has its name, as only one of them can be listed', async () => {
      const { startWorker } = setup({ heartbeatMs: 50 });
      const log = capturingLogger('warn');
      startWorker({ name: 'same-name' });
      await sleep(20); // another start: as far as heartbeats tell, another worker
      startWorker({ name: 'same-name', log: log.logger });
      await until(() => log.events('worker.name_in_use').length > 0);
      await sleep(200); // a few heartbeats more, each replacing the other's
      const warnings = log.events('worker.name_in_use');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ worker: 'same-name', otherPid: process.pid });
      expect(warnings[0]!.msg).toMatch(/give each worker its own --name/);
    });

    it('leaves another live worker of its name listed when it stops cleanly', async () => {
      const { driver, queue, startWorker } = setup({ heartbeatMs: 50 });
      const name = `twin-${queue}`;
      const logs = [capturingLogger('warn'), capturingLogger('warn')];
      const first = startWorker({ name, log: logs[0]!.logger });
      await sleep(20); // another start: as far as heartbeats tell, another worker
      const second = startWorker({ name, log: logs[1]!.logger });
      // each has seen the other's heartbeat replace its own: they take turns
      await until(() => logs.every((log) => log.events('worker.name_in_use').length > 0));
      const listed = async () => (await driver.workers()).filter((w) => w.id === name);
      // the first stops right after it wrote the heartbeat stored (it started 20 ms before the
      // other: its startedAt is the smaller; read on Redis's clock, each may shift by a ms or
      // so), the case an owner check alone gets wrong
      let earliest = Number.POSITIVE_INFINITY;
      let latest = Number.NEGATIVE_INFINITY;
      await until(async () => {
        const [shown] = await listed();
        if (!shown) return false;
        earliest = Math.min(earliest, shown.startedAt);
        latest = Math.max(latest, shown.startedAt);
        return latest - earliest > 10 && shown.startedAt < (earliest + latest) / 2;
      });
      await first.worker.shutdown();
      await first.done;
      // listed straight away, and on, not only after the running twin's next beat
      expect(await listed()).toHaveLength(1);
      await sleep(200); // past the stopped one's heartbeat TTL: the twin's own beats list it
      expect(await listed()).toHaveLength(1);
      await second.worker.shutdown();
      await second.done;
      expect(await listed()).toEqual([]);
    });

    it("does not take a custom driver's answer to a heartbeat ('OK') for another worker's heartbeat", async () => {
      const { driver, startWorker } = setup({ heartbeatMs: 50 });
      driver.heartbeat = async () => 'OK' as never;
      const log = capturingLogger('warn');
      startWorker({ name: 'custom-driver', log: log.logger });
      await sleep(250);
      expect(log.events('worker.name_in_use')).toEqual([]);
    });

    it('does not warn when restarted under its name while its dead self still looks alive', async () => {
      const { driver, startWorker } = setup({ heartbeatMs: 50 });
      const log = capturingLogger('warn');
      const dead = { host: 'h', pid: 1, queues: ['q'], concurrency: 1, runningJobIds: [] };
      await driver.heartbeat({ ...dead, id: 'restarted', startedAt: 1, heartbeatAt: Date.now() }, 60_000);
      startWorker({ name: 'restarted', log: log.logger });
      await sleep(300);
      expect(log.events('worker.name_in_use')).toEqual([]);
    });

    it('stops at its maxTime while idle, however long its sleep between looks', async () => {
      const { startWorker } = setup();
      const started = Date.now();
      expect(await startWorker({ maxTime: 0.3, sleep: 30 }).done).toBe('max-time');
      // before, an idle worker saw its limits only at its lease renewals (10 s apart by default)
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('does not stop when empty while runnable jobs wait behind jobs it finds expired', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const past = Date.now() - 1000;
      for (let i = 0; i < 6; i++) await dispatch(EchoJob, { tag, value: `gone${i}` }, { expiresAt: past });
      const runnable = await dispatch(EchoJob, { tag, value: 'ok' });
      expect(await startWorker({ stopWhenEmpty: true, concurrency: 1 }).done).toBe('empty');
      expect(await driver.getJob(queue, runnable)).toMatchObject({ status: 'completed' });
      expect(entries(tag)).toEqual(['ok@1']);
    });

    it('sets no timer for a timeout longer than a Node timer holds (24.8 days): the job is not timed out', async () => {
      const { driver, queue, startWorker, dispatch, tag } = setup({ timeout: 30 * 24 * 3600 });
      const id = await dispatch(SlowJob, { tag, ms: 100, honourSignal: true });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'completed');
      expect(await driver.getJob(queue, id)).toMatchObject({ error: null, attempts: 1 });
    });

    it('fails for good, calling failed() with its error, a job whose retry would come due after expiresAt', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ backoff: 0.5 });
      const id = await dispatch(FlakyJob, { tag, failures: 10 }, { expiresAt: Date.now() + 300 });
      startWorker();
      await until(() => entries(tag).length === 2);
      expect(entries(tag)).toEqual(['attempt 1', 'failed: flaky failure 1']);
      expect(await driver.getJob(queue, id)).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { message: 'flaky failure 1' },
      });
    });

    it('runs a delayed job only once its delay has passed', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ sleep: 5 });
      const dispatchedAt = Date.now();
      const id = await dispatch(EchoJob, { tag, value: 'later' }, { delay: 0.3 });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'completed');
      expect(Date.now() - dispatchedAt).toBeGreaterThanOrEqual(290);
      expect(Date.now() - dispatchedAt).toBeLessThan(3000);
    });

    it('runs a batch dispatched with one delay in dispatch order once it comes due', async () => {
      const { dispatcher, queue, tag, startWorker } = setup();
      const values = Array.from({ length: 12 }, (_, n) => `v${n}`);
      // one runAt for all (random ids: ordered by id, they would run shuffled)
      const runAt = new Date(Date.now() + 200);
      await dispatcher.dispatchMany(
        values.map((value) => ({ job: EchoJob, payload: { tag, value }, options: { queue, runAt } })),
      );
      await sleep(250);
      expect(await startWorker({ prefetch: 0, stopWhenEmpty: true }).done).toBe('empty');
      expect(entries(tag)).toEqual(values.map((value) => `${value}@1`));
    });

    it('keeps renewing the lease of a job that runs longer than the lease, so it runs once', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ leaseMs: 150, concurrency: 2 });
      const id = await dispatch(SlowJob, { tag, ms: 700, honourSignal: true });
      startWorker();
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'completed');
      expect(entries(tag).filter((e) => e.startsWith('start'))).toHaveLength(1);
    });

    it('cancels a running job: its signal fires and it ends cancelled without a retry', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ leaseMs: 300 });
      const id = await dispatch(SlowJob, { tag, ms: 60_000, honourSignal: true }, { maxTries: 3 });
      startWorker();
      await until(() => entries(tag).length === 1);
      expect(await driver.cancel(queue, id)).toBe('running');
      await until(async () => (await driver.getJob(queue, id))?.status === 'cancelled');
      expect(entries(tag)).toContain('aborted: E_JOB_CANCELLED');
      expect(entries(tag).filter((e) => e.startsWith('start'))).toHaveLength(1);
    });

    it('ends cancelled at its attempt, its worker and start kept, a running job whose cancel it had not heard when it stopped', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ shutdownGraceMs: 100 });
      // the broadcast does not reach this worker (its connection for it was down, say)
      driver.subscribeCancels = async () => async () => {};
      const heard: JobEvent[] = [];
      const unsubscribe = await driver.subscribeEvents((event) => heard.push(event));
      cleanups.push(unsubscribe);
      const id = await dispatch(SlowJob, { tag, ms: 60_000, honourSignal: false });
      const { worker } = startWorker({ events: new JobEventPublisher(driver, true, { flushIntervalMs: 5 }) });
      await until(() => entries(tag).length === 1);
      expect(await driver.cancel(queue, id)).toBe('running');
      await worker.shutdown(); // its handler ignores the signal: handed back after the grace

      const record = await driver.getJob(queue, id);
      expect(record).toMatchObject({ status: 'cancelled', attempts: 1, worker: worker.name });
      expect(record?.startedAt).not.toBeNull();
      await until(() => heard.some((event) => event.id === id && event.status === 'cancelled'));
      expect(heard.find((event) => event.status === 'cancelled')).toMatchObject({
        attempt: 1,
        worker: worker.name,
      });
    });

    it('ends cancelled, unstarted, a job whose cancel came while the reserve that leased it was answering', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup();
      const id = await dispatch(EchoJob, { tag, value: 'never' });
      // the reserve's reply comes late: the job is leased (running) when its cancel is asked for,
      // and the broadcast, on another connection, reaches the worker first
      const held = holdReserveOf(driver, id);
      let heard!: () => void;
      const broadcast = new Promise<void>((resolve) => (heard = resolve));
      const stopHearing = await driver.subscribeCancels((_queue, cancelled) => {
        if (cancelled === id) heard();
      });
      const { worker } = startWorker();
      await held.leased;
      expect(await driver.cancel(queue, id)).toBe('running');
      await broadcast; // the worker heard it too, in the same dispatch of the message
      held.answer();
      await until(async () => (await driver.getJob(queue, id))?.status === 'cancelled');
      await stopHearing();
      expect(entries(tag)).toEqual([]);
      expect(worker.runningJobIds).toEqual([]);
    });

    it('leaves the jobs it cannot start yet to a worker that starts later, having timed no job yet', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({ concurrency: 1 });
      const payload = { tag, ms: 1500, honourSignal: true };
      const first = await dispatch(SlowJob, payload);
      const second = await dispatch(SlowJob, payload);
      const early = startWorker();
      await until(() => entries(tag).length === 1);
      expect(entries(tag)).toEqual([`start ${first}`]);
      // the second job still waits in the queue, not reserved ahead by the busy worker
      expect((await driver.getJob(queue, second))?.status).toBe('queued');
      const late = startWorker();
      // it starts at once on the idle worker, long before the first job ends (1.5 s)
      await until(() => entries(tag).length === 2, 1000);
      expect(entries(tag)).toEqual([`start ${first}`, `start ${second}`]);
      expect(await driver.getJob(queue, first)).toMatchObject({ worker: early.worker.name });
      expect(await driver.getJob(queue, second)).toMatchObject({ worker: late.worker.name });
    });

    it('never starts a job it reserved ahead once its expiresAt has passed, nor counts it towards maxJobs', async () => {
      // one slot and one job held ahead of it
      const { driver, queue, tag, startWorker, dispatch } = setup({ concurrency: 1, prefetch: 1 });
      const first = await dispatch(SlowJob, { tag, ms: 2500, honourSignal: true });
      const late = await dispatch(EchoJob, { tag, value: 'too late' }, { expiresAt: Date.now() + 1200 });
      await dispatch(EchoJob, { tag, value: 'third' });
      const { done } = startWorker({ maxJobs: 2 });
      await until(() => entries(tag).length === 1);
      // one slot, so the second job waits reserved ahead of it (leased, not started)
      expect((await driver.getJob(queue, late))?.status).toBe('running');
      expect(await done).toBe('max-jobs');
      expect(await driver.getJob(queue, late)).toMatchObject({
        status: 'expired',
        attempts: 0,
        error: { code: 'E_JOB_EXPIRED' },
      });
      expect(entries(tag)).toEqual([`start ${first}`, `end ${first}`, 'third@1']);
    });

    it('keeps a reserved-ahead job past its expiresAt leased while it cannot be handed back, and ends it expired', async () => {
      const { driver, queue, tag, startWorker, dispatch } = setup({
        concurrency: 1,
        leaseMs: 600,
        prefetch: 1,
      });
      let refused = 0;
      const release = driver.release.bind(driver);
      driver.release = async (leases) => {
        if (refused < 2) {
          refused++;
          throw new Error('storage is away');
        }
        return release(leases);
      };
      await dispatch(SlowJob, { tag, ms: 1500, honourSignal: true });
      const late = await dispatch(
        EchoJob,
        { tag, value: 'too late' },
        { expiresAt: Date.now() + 1000, maxTries: 1 },
      );
      startWorker();
      // its attempt is its last: had its lease lapsed, it would have ended failed
      await until(async () => (await driver.getJob(queue, late))?.status === 'expired', 10_000);
      expect(refused).toBe(2);
      expect(await driver.getJob(queue, late)).toMatchObject({ status: 'expired', attempts: 0 });
      expect(entries(tag)).not.toContain('too late@1');
    });

    it('runs jobs of the same id from two queues side by side, each once, and cancels only the one asked', async () => {
      const { driver, dispatcher, queue, tag, startWorker } = setup({ concurrency: 2 });
      const other = `${queue}-other`;
      const payload = { tag, ms: 400, honourSignal: true };
      await dispatcher.dispatch(SlowJob, payload, { queue, jobId: 'same-id' });
      await dispatcher.dispatch(SlowJob, { ...payload, ms: 60_000 }, { queue: other, jobId: 'same-id' });
      const { worker } = startWorker({ queues: [queue, other] });
      await until(() => entries(tag).filter((e) => e.startsWith('start')).length === 2);
      expect(worker.runningJobIds).toEqual(['same-id', 'same-id']);
      await until(async () => (await driver.getJob(queue, 'same-id'))?.status === 'completed');
      expect(await driver.cancel(other, 'same-id')).toBe('running');
      await until(async () => (await driver.getJob(other, 'same-id'))?.status === 'cancelled');
      expect(entries(tag)).toEqual([
        'start same-id',
        'start same-id',
        'end same-id',
        'aborted: E_JOB_CANCELLED',
      ]);
      await driver.clear(other);
    });

    it('coalesces progress: 10,000 updates make a handful of writes and the last one is stored', async () => {
      const { driver, dispatcher, queue, tag, startWorker } = setup({ progressIntervalMs: 1000 });
      let writes = 0;
      const original = driver.progress.bind(driver);
      driver.progress = (...args) => {
        writes++;
        return original(...args);
      };
      const id = await dispatcher.dispatch(ProgressJob, { tag, updates: 10_000 }, { queue });
      startWorker();
      await until(async () => (await driver.getJob(queue, id))?.status === 'completed');
      expect(writes).toBeGreaterThanOrEqual(1);
      expect(writes).toBeLessThanOrEqual(3);
      expect(await driver.getJob(queue, id)).toMatchObject({ progress: 100, progressMessage: 'step 10000' });
    });

    it('counts progress in steps: a running job reads the share of its steps done', async () => {
      const { driver, dispatcher, queue, tag, startWorker } = setup({ progressIntervalMs: 100 });
      const payload = { tag, total: 8, done: 3, holdMs: 1500 };
      const id = await dispatcher.dispatch(StepsJob, payload, { queue });
      startWorker();
      // the first report is written at once, the last one (3 of 8) when the interval ends
      await until(async () => (await driver.getJob(queue, id))?.progress === 37.5);
      expect(await driver.getJob(queue, id)).toMatchObject({
        status: 'running',
        progressMessage: 'file 3 of 8',
      });
      await until(async () => (await driver.getJob(queue, id))?.status === 'completed');
      expect(entries(tag)).toEqual(['done 3']);
    });

    it('publishes each stored progress report as a progress event, the last one before the completed event', async () => {
      const { driver, dispatcher, queue, tag, startWorker } = setup({ progressIntervalMs: 100 });
      const heard: (JobEvent | JobProgressEvent)[] = [];
      const unsubscribe = await driver.subscribeEvents({
        status: (event) => heard.push(event),
        progress: (event) => heard.push(event),
      });
      try {
        // eight steps at once, then done: the last report is written as the job ends
        const id = await dispatcher.dispatch(StepsJob, { tag, total: 8, done: 8, holdMs: 0 }, { queue });
        const { worker } = startWorker({
          events: new JobEventPublisher(driver, true, { flushIntervalMs: 5 }),
        });
        await until(() =>
          heard.some((event) => event.id === id && !isProgressEvent(event) && event.status === 'completed'),
        );
        const seen = heard.filter((event) => event.id === id);
        expect(
          seen.map((event) =>
            isProgressEvent(event) ? `${event.progress}% ${event.progressMessage}` : event.status,
          ),
        ).toEqual(['running', '12.5% file 1 of 8', '100% file 8 of 8', 'completed']);
        expect(seen[1]).toMatchObject({
          kind: 'progress',
          name: 'StepsJob',
          attempt: 1,
          worker: worker.name,
        });
        // each report's data, as it was when reported, on the event and on the record
        expect(seen.filter(isProgressEvent).map((event) => event.progressData)).toEqual([
          { files: 1 },
          { files: 8 },
        ]);
        expect(await driver.getJob(queue, id)).toMatchObject({ progress: 100, progressData: { files: 8 } });
      } finally {
        await unsubscribe();
      }
    });
  });
}
