/**
 * What a Worker does with unusual failures and reports (values thrown that are not Errors, a
 * handle() that is not async, progress after the attempt ended, huge errors, a failed() hook
 * outlasting shutdown), proven alike on the memory and Redis drivers.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  Job,
  type JobClass,
  type JobContext,
  JobRegistry,
  MemoryQueueDriver,
  type QueueDriver,
  RedisQueueDriver,
  Worker,
  type WorkerOptions,
} from '../../../core/index.js';
import { MAX_PROGRESS_MESSAGE_LENGTH } from '../../../core/queue/progress_writer.js';
import { MAX_ERROR_MESSAGE_LENGTH, MAX_ERROR_STACK_LENGTH } from '../../../core/queue/record_failure.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { until } from '../../support/until.js';

const prefix = `topiq-test-edges-${randomBytes(3).toString('hex')}`;

const drivers: [string, () => QueueDriver][] = [
  ['memory', () => new MemoryQueueDriver()],
  ['Redis', () => new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix })],
];

/** What the failed() hooks of the jobs below were given, by job id. */
const hookGot = new Map<string, Error>();

/** A job that throws what its payload names, once (maxTries 1). */
class ThrowsJob extends Job<{ kind: string }> {
  static override jobName = 'EdgeThrowsJob';
  static override maxTries = 1;
  async handle({ kind }: { kind: string }): Promise<void> {
    throw thrown(kind);
  }
  override async failed(error: Error, _payload: unknown, { jobId }: { jobId: string }): Promise<void> {
    hookGot.set(jobId, error);
  }
}

function thrown(kind: string): unknown {
  if (kind === 'no-prototype') return Object.create(null);
  if (kind === 'plain-object') return { message: 'quota exceeded', code: 'E_QUOTA' };
  const error = new Error(`${kind} error`);
  const getter = () => {
    throw new Error('getter threw');
  };
  if (kind === 'message-getter') Object.defineProperty(error, 'message', { get: getter });
  if (kind === 'stack-getter') Object.defineProperty(error, 'stack', { get: getter });
  if (kind === 'huge') return new Error('M'.repeat(5_000_000));
  return error;
}

/** A job whose handle() is not async: it returns a value, or throws before returning. */
class SyncJob extends Job<{ fail: boolean }, string> {
  static override jobName = 'EdgeSyncJob';
  static override maxTries = 1;
  override handle({ fail }: { fail: boolean }): Promise<string> {
    if (fail) throw new Error('thrown synchronously');
    return 'returned synchronously' as unknown as Promise<string>;
  }
}

/** Reports progress once its handle() has resolved: in a microtask, and on the next turn. */
class LateProgressJob extends Job<{ tag: string }, string> {
  static override jobName = 'EdgeLateProgressJob';
  async handle(_payload: { tag: string }, { progress }: JobContext): Promise<string> {
    queueMicrotask(() => progress(66, 'in a microtask after returning'));
    setImmediate(() => progress(77, 'on the next turn'));
    return 'done';
  }
}

/** Reports a progress message that is not a string, or a very long one. */
class MessageJob extends Job<{ kind: string }> {
  static override jobName = 'EdgeMessageJob';
  static override maxTries = 1;
  async handle({ kind }: { kind: string }, { progress }: JobContext): Promise<void> {
    if (kind === 'number') progress(20, 5 as unknown as string);
    else progress(20, 'é'.repeat(5000));
  }
}

/** Fails for good at once; its failed() hook never settles. */
class HookHangsJob extends Job<{ tag: string }> {
  static override jobName = 'EdgeHookHangsJob';
  static override maxTries = 1;
  static override timeout = 30;
  async handle(): Promise<void> {
    throw new Error('boom');
  }
  override failed(): Promise<void> {
    return new Promise(() => {});
  }
}

const jobs: JobClass[] = [ThrowsJob, SyncJob, LateProgressJob, MessageJob, HookHangsJob];

for (const [label, makeDriver] of drivers) {
  describe(`Worker on the ${label} driver, given unusual failures and reports`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    function setup(options: Partial<WorkerOptions> = {}) {
      const driver = makeDriver();
      const registry = new JobRegistry().register(...jobs);
      const dispatcher = new Dispatcher(driver, registry);
      const queue = uniqueQueue('edges');
      const log = capturingLogger('debug');
      const worker = new Worker({
        driver,
        registry,
        queues: [queue],
        sleep: 0.2,
        log: log.logger,
        ...options,
      });
      let done: Promise<unknown> | undefined;
      cleanups.push(async () => {
        await worker.shutdown();
        await driver.clear(queue);
        await driver.removeFailed(queue, { all: true });
        if (driver instanceof RedisQueueDriver) {
          const keys = await driver.redis.keys(`${prefix}*`);
          if (keys.length > 0) await driver.redis.del(...keys);
        }
        await driver.close();
      });
      const dispatch = (job: JobClass, payload: unknown) =>
        dispatcher.dispatch(job as typeof ThrowsJob, payload as never, { queue });
      const start = () => {
        done = worker.run();
        return done;
      };
      const status = async (id: string) => (await driver.getJob(queue, id))?.status;
      return { driver, queue, log, worker, dispatch, start, status };
    }

    it.each([
      ['an object with no prototype', 'no-prototype', '[object Object]', undefined],
      [
        'an Error whose message getter throws',
        'message-getter',
        'an Error whose message could not be read',
        undefined,
      ],
      ['an Error whose stack getter throws', 'stack-getter', 'stack-getter error', undefined],
      ['a plain object with a string message and code', 'plain-object', 'quota exceeded', 'E_QUOTA'],
    ])(
      'records %s as the attempt failure and calls failed() with it, not left to its lease',
      async (_label, kind, message, code) => {
        const { driver, queue, log, dispatch, start, status } = setup();
        const id = await dispatch(ThrowsJob, { kind });
        void start();
        await until('the job failed', async () => (await status(id)) === 'failed' && hookGot.has(id));
        const record = await driver.getJob(queue, id);
        expect(record).toMatchObject({ attempts: 1, error: { message } });
        expect(record?.error?.code).toBe(code);
        expect(hookGot.get(id)?.message).toBe(message);
        expect(log.events('job.failed')).toHaveLength(1);
        expect(log.events('job.runner_error')).toEqual([]);
      },
    );

    it('completes a job whose handle() returns a plain value and fails one whose handle() throws synchronously', async () => {
      const { driver, queue, dispatch, start, status } = setup();
      const returns = await dispatch(SyncJob, { fail: false });
      const throws = await dispatch(SyncJob, { fail: true });
      void start();
      await until(
        'both settled',
        async () => (await status(returns)) === 'completed' && (await status(throws)) === 'failed',
      );
      expect((await driver.getJob(queue, returns))?.result).toBe('returned synchronously');
      expect((await driver.getJob(queue, throws))?.error?.message).toBe('thrown synchronously');
    });

    it('writes no progress reported after handle() resolved over the finished record', async () => {
      const { driver, queue, log, dispatch, start, status } = setup();
      const id = await dispatch(LateProgressJob, { tag: 'late' });
      void start();
      await until('the job completed', async () => (await status(id)) === 'completed');
      await sleep(50);
      expect(await driver.getJob(queue, id)).toMatchObject({
        progress: 0,
        progressMessage: null,
        result: 'done',
      });
      expect(log.events('job.progress_after_end')).toHaveLength(1);
    });

    it('cuts a 5 MB error message and its stack where the failure is stored and logged', async () => {
      const { driver, queue, log, dispatch, start, status } = setup();
      const id = await dispatch(ThrowsJob, { kind: 'huge' });
      void start();
      await until('the job failed', async () => (await status(id)) === 'failed');
      const record = await driver.getJob(queue, id);
      const [failed] = await driver.listFailed(queue, 0, 1);
      for (const error of [record?.error, failed?.error]) {
        expect(error?.message).toMatch(/^M{8192}… \[4991808 more characters cut\]$/);
        expect(error?.stack?.length).toBeLessThan(MAX_ERROR_STACK_LENGTH + 50);
      }
      const longest = Math.max(...log.lines.map((line) => JSON.stringify(line).length));
      expect(longest).toBeLessThan(2 * MAX_ERROR_MESSAGE_LENGTH + MAX_ERROR_STACK_LENGTH + 2000);
    });

    it('refuses a progress message that is not a string with E_INVALID_OPTION and cuts a long one to 1,024 characters', async () => {
      const { driver, queue, dispatch, start, status } = setup();
      const number = await dispatch(MessageJob, { kind: 'number' });
      const long = await dispatch(MessageJob, { kind: 'long' });
      void start();
      await until(
        'both settled',
        async () => (await status(number)) === 'failed' && (await status(long)) === 'completed',
      );
      expect((await driver.getJob(queue, number))?.error?.code).toBe('E_INVALID_OPTION');
      const message = (await driver.getJob(queue, long))?.progressMessage;
      expect(message).toBe(`${'é'.repeat(MAX_PROGRESS_MESSAGE_LENGTH)}… [3976 more characters cut]`);
    });

    it('leaves a job failed for good out of the hand-back when its failed() hook outlasts the grace period, and logs the hook abandoned', async () => {
      const { driver, queue, log, worker, dispatch, start, status } = setup({ shutdownGraceMs: 300 });
      const id = await dispatch(HookHangsJob, { tag: 'hook' });
      const done = start();
      await until('the job failed', async () => (await status(id)) === 'failed');
      await worker.shutdown();
      await done;
      expect((await driver.getJob(queue, id))?.status).toBe('failed');
      expect(log.events('job.released')).toEqual([]);
      expect(log.events('job.failed_hook_abandoned')).toMatchObject([{ jobId: id }]);
      expect(log.events('worker.failed_hooks_left')).toMatchObject([{ count: 1 }]);
    });
  });
}
