/**
 * Runs one attempt of one reserved job: looks the class up in the registry, decodes the
 * payload, calls `handle()` under the job's timeout and AbortSignal, and settles the
 * attempt with the driver (complete via the ack buffer, or fail with a retry decision).
 */
import { performance } from 'node:perf_hooks';
import {
  isTopiqError,
  JobExpiredError,
  JobTimeoutError,
  LeaseExpiredError,
  LeaseLostError,
  UnrecoverableError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import type { AckBuffer } from './ack_buffer.js';
import type { FailResult, JobRecord, Lease, QueueDriver, ReservedJob, StoredError } from './driver.js';
import type { JobClass, JobContext } from './job.js';
import { JobAbort, type SettleObserver, untilAborted } from './job_abort.js';
import { decodeJson, encodeJson, type JsonValue } from './json.js';
import type { JobEventPublisher } from './job_events.js';
import { AttemptContext } from './attempt_context.js';
import { jobFields } from './names.js';
import { errorCode, loggedError, recordFailure, storedError, thrownError } from './record_failure.js';
import type { JobRegistry } from './registry.js';
import { type RetryPolicy, retryDelayMs } from './retry_policy.js';
import { MAX_TIMER_MS } from '../support/timers.js';

/** Worker-wide defaults for jobs that do not set their own. */
export interface RunnerSettings {
  tries: number;
  timeoutSeconds: number;
  backoff: RetryPolicy;
  progressIntervalMs: number;
  /**
   * Aborts when the worker's shutdown grace period ends: a failed attempt Redis could not
   * record yet is then left to its lease.
   */
  graceOver?: AbortSignal;
}

/** Why a running job was stopped from outside. */
export class WorkerShutdownError extends Error {
  override name = 'WorkerShutdownError';
}

/** A job this worker is running. */
export interface RunningJob {
  job: ReservedJob;
  lease: Lease;
  controller: JobAbort;
  /**
   * Set once the attempt's failure is recorded (the job is off its lease): a run still going
   * then only waits for its `failed()` hook, and is not handed back on shutdown.
   */
  failureRecorded?: true;
}

export class JobRunner {
  readonly #driver: QueueDriver;
  readonly #registry: JobRegistry;
  readonly #log: Logger;
  readonly #acks: AckBuffer;
  readonly #settings: RunnerSettings;
  readonly #events: JobEventPublisher | undefined;
  readonly #worker: string;

  constructor(
    driver: QueueDriver,
    registry: JobRegistry,
    log: Logger,
    acks: AckBuffer,
    settings: RunnerSettings & { worker: string; events?: JobEventPublisher | undefined },
  ) {
    this.#events = settings.events;
    this.#worker = settings.worker;
    this.#driver = driver;
    this.#registry = registry;
    this.#log = log;
    this.#acks = acks;
    this.#settings = settings;
  }

  /**
   * How long an attempt of `job` may run (ms): its class's `timeout`, else the worker's. Past
   * `MAX_TIMER_MS` no timer is set (see `armTimeout`), and the attempt is not bounded.
   */
  timeoutMsOf(job: ReservedJob): number {
    return this.#timeoutMs(this.#registry.has(job.name) ? this.#registry.get(job.name) : undefined);
  }

  /** How long an attempt (or a failed() hook) of a job of `jobClass` may run (ms). */
  #timeoutMs(jobClass: JobClass | undefined): number {
    return (jobClass?.timeout ?? this.#settings.timeoutSeconds) * 1000;
  }

  /** Runs one attempt to its end; never throws. */
  async run(running: RunningJob): Promise<void> {
    const { job, lease, controller } = running;
    const started = performance.now();
    const verbose = this.#log.isLevelEnabled('info');
    const maxTries = job.maxTries > 0 ? job.maxTries : this.#settings.tries;
    // No closures per job: at tens of thousands of jobs a second their allocation shows.
    const context = new AttemptContext(
      job,
      lease,
      controller,
      maxTries,
      this.#log,
      this.#driver,
      this.#settings.progressIntervalMs,
      this.#events,
      this.#worker,
    );
    let jobClass: JobClass | undefined;
    let payload: unknown;
    if (verbose) context.log.info({ event: 'job.started' }, 'job started');
    this.#events?.started(job, this.#worker);
    try {
      jobClass = this.#registry.get(job.name);
      payload = decodeJson(job.payload, `${job.name} payload`);
      const instance = new jobClass();
      const timeoutMs = this.#timeoutMs(jobClass);
      // the timer first: the synchronous start of handle() counts towards the timeout
      const timer = armTimeout(controller, timeoutMs, job.id);
      const result = await withTimeout(callHandle(instance, payload, context), controller, timer, context);
      context.end();
      const encoded = encodeJson(result ?? null, `${job.name} result`);
      const durationMs = elapsed(started);
      // its `completed` event and log line follow once the acknowledgement is stored (see Worker)
      this.#acks.add({ lease, result: encoded, job, value: storedValue(result, encoded), durationMs });
    } catch (caught) {
      context.end();
      // whatever was thrown (no prototype, getters that throw), describing it must not throw:
      // the attempt would then stay unrecorded until its lease lapsed, and run again
      const error = thrownError(caught);
      if (error instanceof WorkerShutdownError) return; // the worker releases it
      if (error instanceof LeaseLostError) {
        context.log.warn({ event: 'job.lease_lost', durationMs: elapsed(started) }, error.message);
        return;
      }
      const permanent =
        error instanceof UnrecoverableError ||
        isTopiqError(error, 'E_JOB_NOT_REGISTERED') ||
        isTopiqError(error, 'E_INVALID_PAYLOAD') ||
        // a bad argument to progress(), steps() or a dispatch from the job: the same on every try
        isTopiqError(error, 'E_INVALID_OPTION') ||
        job.attempt >= maxTries;
      const policy = jobClass?.retryAfter ?? this.#settings.backoff;
      const retryInMs = permanent ? null : retryDelayMs(policy, job.attempt);
      // the attempt's own time, before the wait for Redis to record its failure
      const durationMs = elapsed(started);
      await this.#settleFailure(running, error, retryInMs, context.log, durationMs, jobClass, payload);
    }
  }

  /**
   * Reports a job that a reserve failed for good: one crashed workers abandoned on its last try,
   * or unstarted more often than its attempt is given back (`E_LEASE_EXPIRED`), or one that ran before and came due again past its expiresAt (it keeps
   * the error of its failed attempt, or has `E_JOB_EXPIRED`). Logs it, emits its `failed` event
   * and calls its `failed()` hook.
   */
  async abandoned(record: JobRecord): Promise<void> {
    // the fields of every other job line: its attempt is the last one, which a dead worker ran
    const log = this.#log.child(jobFields({ ...record, attempt: record.attempts }));
    const error = restoredError(record.error);
    log.error(
      { event: 'job.failed', code: errorCode(error), ...(record.worker ? { ranOn: record.worker } : {}) },
      record.error?.message,
    );
    this.#events?.emit(
      record,
      'failed',
      record.attempts,
      record.worker ?? undefined,
      record.error ? { error: withoutStack(record.error) } : undefined,
    );
    if (!this.#registry.has(record.name)) return;
    await this.#callFailed(this.#registry.get(record.name), error, record.payload, record, log);
  }

  async #settleFailure(
    running: RunningJob,
    error: Error,
    retryInMs: number | null,
    log: Logger,
    durationMs: number,
    jobClass: JobClass | undefined,
    payload: unknown,
  ): Promise<void> {
    const { job, lease } = running;
    const stored = storedError(error);
    const failure = { lease, error: stored, retryInMs };
    let result: FailResult;
    // past a few tries this waits for Redis, the job's slot taken, until the grace period ends
    try {
      result = await recordFailure(this.#driver, failure, log, { signal: this.#settings.graceOver });
    } catch (driverError) {
      log.error(
        { event: 'job.fail_unrecorded', err: driverError, durationMs },
        'could not record the failed attempt: if Redis never got it, the job runs again when its lease ' +
          'expires; if it did and its answer was lost, the job is failed without its failed() hook',
      );
      return;
    }
    running.failureRecorded = true;
    const { outcome } = result;
    const fields = { durationMs, code: stored.code, err: loggedError(error) };
    this.#announceFailure(job, result, stored, fields.durationMs);
    if (outcome === 'retrying') {
      const { runAt } = result;
      log.warn(
        { event: 'job.retrying', ...fields, retryInMs, ...(runAt === undefined ? {} : { runAt }) },
        `attempt failed: ${stored.message}`,
      );
    } else if (outcome === 'cancelled') {
      log.info({ event: 'job.cancelled', durationMs: fields.durationMs }, 'job cancelled');
    } else if (outcome === 'lost') {
      log.warn(
        { event: 'job.lease_lost', ...fields },
        'attempt failed after its lease was lost; not recorded',
      );
    } else {
      log.error({ event: 'job.failed', ...fields }, `job failed: ${stored.message}`);
      if (jobClass) {
        const context = { id: job.id, queue: job.queue, attempts: job.attempt };
        await this.#callFailed(jobClass, error, payload, context, log);
      }
    }
  }

  /** Emits the status the failed attempt gave the job, with the run-at time its record got. */
  #announceFailure(job: ReservedJob, result: FailResult, error: StoredError, durationMs: number): void {
    const events = this.#events;
    const { outcome, runAt } = result;
    if (!events || outcome === 'lost') return;
    const slim = withoutStack(error);
    if (outcome === 'retrying' && runAt !== undefined) {
      events.emit(job, 'delayed', job.attempt, undefined, { error: slim, runAt, durationMs });
    } else {
      const status = outcome === 'retrying' ? 'queued' : outcome;
      events.emit(job, status, job.attempt, this.#worker, { error: slim, durationMs });
    }
  }

  async #callFailed(
    jobClass: JobClass,
    error: Error,
    payload: unknown,
    job: { id: string; queue: string; attempts: number },
    log: Logger,
  ): Promise<void> {
    // bounded by the job's timeout, as handle() is: a hook that never settles would hold the
    // worker's slot (or its shutdown) for good
    const timeoutMs = this.#timeoutMs(jobClass);
    const abort = new JobAbort();
    let hook: Promise<void> | undefined;
    try {
      // inside the try: a constructor that throws (it threw for the attempt too) is logged, not
      // left to reject the worker's fire-and-forget call and end the process
      const instance = new jobClass();
      if (!instance.failed) return;
      hook = Promise.resolve(
        instance.failed(error, payload, { jobId: job.id, queue: job.queue, attempts: job.attempts, log }),
      );
      await withTimeout(hook, abort, armTimeout(abort, timeoutMs, job.id));
    } catch (hookError) {
      if (!abort.aborted) {
        log.error(
          { event: 'job.failed_hook_error', err: loggedError(thrownError(hookError)) },
          'the failed() hook threw',
        );
        return;
      }
      // timed out: the hook is left behind, and an error it throws later is still logged
      hook?.catch((lateError: unknown) =>
        log.error(
          { event: 'job.failed_hook_error', err: loggedError(thrownError(lateError)) },
          'the failed() hook threw',
        ),
      );
      log.error(
        { event: 'job.failed_hook_timeout', timeoutMs },
        `the failed() hook did not finish within the job's timeout of ${timeoutMs / 1000}s; the worker goes on without it`,
      );
    }
  }
}

/** An error as events carry it: without its stack, which can be long and is in the record. */
function withoutStack(error: StoredError): StoredError {
  const { stack: _stack, ...slim } = error;
  return slim;
}

/**
 * Aborts `abort` with `E_JOB_TIMEOUT` once `ms` pass; no timer for a timeout past what a Node
 * timer holds (2^31 - 1 ms, about 24.8 days: Node would run it after 1 ms), which is none.
 * Armed before `handle()` is called, so its synchronous start counts towards the timeout.
 */
function armTimeout(abort: JobAbort, ms: number, id: string): NodeJS.Timeout | undefined {
  if (ms > MAX_TIMER_MS) return undefined;
  return setTimeout(
    () => abort.abort(new JobTimeoutError(`job ${id} ran longer than its timeout of ${ms / 1000}s`)),
    ms,
  );
}

/**
 * Settles with `work`, or rejects when the attempt is aborted (its timeout, armed as `timer`,
 * a cancel, a lost lease, shutdown), whichever comes first, and clears the timer; a job that
 * ignores its signal is left behind.
 */
function withTimeout<T>(
  work: Promise<T>,
  abort: JobAbort,
  timer: NodeJS.Timeout | undefined,
  observer?: SettleObserver,
): Promise<T> {
  return untilAborted(work, abort, observer).finally(() => clearTimeout(timer));
}

/**
 * Calls `handle()`, taking a plain value it returns as resolved and an error it throws at once
 * as rejected (a `handle()` need not be async); it is called now, not deferred.
 */
function callHandle(
  instance: { handle(payload: unknown, context: JobContext): unknown },
  payload: unknown,
  context: JobContext,
): Promise<unknown> {
  try {
    return Promise.resolve(instance.handle(payload, context));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The error a reserve failed a job with, as the `failed()` hook gets it. */
function restoredError(stored: StoredError | null): Error {
  if (!stored || stored.code === 'E_LEASE_EXPIRED')
    return new LeaseExpiredError(stored?.message ?? 'the job was abandoned on its last try');
  if (stored.code === 'E_JOB_EXPIRED') return new JobExpiredError(stored.message);
  // the error of the attempt that failed before the job came due too late
  const error = Object.assign(new Error(stored.message), stored.code ? { code: stored.code } : {});
  if (stored.stack) error.stack = stored.stack;
  return error;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

/**
 * The result as stored, for its `completed` event: the value itself when it is a primitive,
 * else a copy read back from its JSON. The event is encoded up to a flush window later, and a
 * job may still hold the object it returned: a change made meanwhile must not be published as
 * the result when the record holds another, and one that makes it unencodable (a cycle, a
 * BigInt) must not throw from the event's flush timer and end the worker process.
 */
function storedValue(result: unknown, encoded: string): JsonValue {
  if (typeof result !== 'object' || result === null) return (result ?? null) as JsonValue;
  return JSON.parse(encoded) as JsonValue;
}
