/**
 * The queue worker behind `npx topiq queue:work`: reserves jobs from its queues in strict
 * order, runs up to `concurrency` at once, renews their leases, acknowledges in batches,
 * blocks (without polling) when idle, and shuts down gracefully.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidOptionError, JobCancelledError, LeaseLostError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { ChurnMap } from '../support/churn_map.js';
import { backoffMs } from '../support/retry.js';
import { MAX_TIMER_MS } from '../support/timers.js';
import { MAX_LEASE_MS } from './lease_bounds.js';
import { AckBuffer } from './ack_buffer.js';
import { JobAbort } from './job_abort.js';
import {
  isWorkerInfo,
  type Lease,
  type LeaseState,
  type QueueDriver,
  type ReleaseOutcome,
  type ReserveResult,
  type ReservedJob,
} from './driver.js';
import { HeardCancels } from './heard_cancels.js';
import { JobRunner, type RunningJob, WorkerShutdownError } from './job_runner.js';
import { whileRedisPasses } from './record_failure.js';
import { assertQueueName, assertWorkerName, defaultWorkerName, distinctQueues, jobFields } from './names.js';
import type { JobEventPublisher } from './job_events.js';
import type { JobRegistry } from './registry.js';
import { isPrefetch, MAX_PREFETCH, ReserveAhead } from './reserve_ahead.js';
import { assertRetryPolicy, DEFAULT_TRIES, type RetryPolicy } from './retry_policy.js';

/**
 * How soon after a job starts, at most, the worker tells the driver it runs (if it still does),
 * so that a crash afterwards counts its attempt rather than giving it back (`MAX_STALLS`).
 */
export const START_REPORT_MS = 1000;

/** Options of a {@link Worker}; the CLI flags of `queue:work` map onto these. */
export interface WorkerOptions {
  driver: QueueDriver;
  registry: JobRegistry;
  /** Queues in strict priority order: a later queue is served only when earlier ones are empty. */
  queues: string[];
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** Tries for jobs that set no `maxTries` (default {@link DEFAULT_TRIES}, 3). */
  tries?: number;
  /** Seconds an attempt may run, for jobs that set no `timeout` (default 60). */
  timeout?: number;
  /** Retry delay for jobs that set no `retryAfter` (default 0). */
  backoff?: RetryPolicy;
  /** Longest an idle worker blocks before looking again, in seconds (default 3). */
  sleep?: number;
  /** Run one job (or none) and stop. */
  once?: boolean;
  /** Stop when the queues have no ready job. */
  stopWhenEmpty?: boolean;
  /** Stop after this many jobs. */
  maxJobs?: number;
  /** Stop after this many seconds. */
  maxTime?: number;
  /** Stop when the process's resident memory exceeds this many MB. */
  memory?: number;
  /**
   * Name shown in records, logs and `queue:workers` (default host:pid:random): 1-128 of
   * `A-Z a-z 0-9 _ . : -` starting with a letter or digit, else `E_INVALID_WORKER_NAME`.
   */
  name?: string;
  /** Lease length in ms (default 30,000, at most {@link MAX_LEASE_MS}); renewed every third of it while a job runs. */
  leaseMs?: number;
  /** On stop, how long running jobs may finish before they are released, in ms (default 10,000). */
  shutdownGraceMs?: number;
  /** Minimum ms between two progress writes of one job (default 1,000). */
  progressIntervalMs?: number;
  /**
   * Jobs held reserved ahead of the free slots, 0 to 10,000. By default the worker decides from
   * how long jobs and reserve calls take: up to three per slot for short jobs, none for jobs
   * over about 100 reserve round trips and none before a job has been timed. A fixed number
   * suits special cases: 0 so that a job arriving on an earlier queue of `queues` never waits
   * behind jobs reserved from a later one.
   */
  prefetch?: number;
  /** Ms between heartbeats (default 5,000); a worker is listed until 3 are missed. */
  heartbeatMs?: number;
  /** Publishes job status changes; none when absent. */
  events?: JobEventPublisher;
  log?: Logger;
}

/** Why `run()` returned. */
export type WorkerStopReason = 'stopped' | 'empty' | 'once' | 'max-jobs' | 'max-time' | 'memory';

/**
 * Runs jobs from queues until stopped.
 *
 * @example
 * const worker = new Worker({ driver, registry, queues: ['high', 'default'], concurrency: 10 });
 * process.once('SIGTERM', () => worker.stop());
 * const reason = await worker.run();
 */
export class Worker {
  readonly name: string;
  readonly queues: readonly string[];
  readonly #options: WorkerOptions;
  readonly #driver: QueueDriver;
  readonly #log: Logger;
  readonly #acks: AckBuffer;
  readonly #runner: JobRunner;
  readonly #running = new ChurnMap<string, RunningJob>();
  /** Running jobs a lease renewal or a start report has told the driver about. */
  readonly #reported = new WeakSet<RunningJob>();
  /** Reports the jobs started in the last {@link START_REPORT_MS} (see #reportStarts). */
  #startReport: NodeJS.Timeout | undefined;
  readonly #concurrency: number;
  readonly #maxJobs: number;
  readonly #leaseMs: number;
  /** Aborted by stop(): ends the wait after a failed reserve, so a shutdown does not wait it out. */
  readonly #stopping = new AbortController();
  /** Aborted when the shutdown grace period ends, before what still runs is handed back. */
  readonly #graceOver = new AbortController();
  /** Heartbeats in a row that replaced another live worker's under this name. */
  #nameClashes = 0;
  /** Whether `worker.name_in_use` was logged (once per worker). */
  #nameClashLogged = false;
  /** When the RSS was last read for the memory limit (epoch ms). */
  #memoryCheckedAt = 0;
  #reserved = 0;
  #stopReason: WorkerStopReason | undefined;
  /** When the grace period of running jobs began: at the stop, or at a signal after a limit's stop. */
  #graceFrom: number | undefined;
  /** Resolves the loop's wait for something to happen (a slot freed, a reserve answered, stop). */
  #wakeLoop: (() => void) | undefined;
  /** Jobs reserved ahead of a free slot, so Redis works while jobs run (see ReserveAhead). */
  readonly #ready: ReservedJob[] = [];
  /**
   * Reserved-ahead jobs that passed their `expiresAt` and could not be handed back yet (Redis
   * away): their leases are renewed and the hand-back tried again with each renewal, and on
   * shutdown, so they are not failed for a lapsed lease.
   */
  readonly #unreleased: ReservedJob[] = [];
  /** Hand-backs of jobs reserved ahead in flight ({@link Worker.#shedAhead}). */
  #handingBack = 0;
  /**
   * Calls in flight that end reserved-ahead jobs without running them (the hand-back of an
   * expired one, the cancel of a cancelled one), awaited on shutdown.
   */
  readonly #releasing = new Set<Promise<void>>();
  /** The failed() hooks of jobs this worker reclaimed, failed for good, from dead workers. */
  readonly #failedHooks = new Set<Promise<void>>();
  readonly #ahead: ReserveAhead;
  /** Cancel broadcasts heard for jobs of its queues it did not hold (see HeardCancels). */
  readonly #heardCancels = new HeardCancels();
  /** Reserve calls in flight, and how many jobs they asked for. */
  readonly #fetches = new Set<Promise<void>>();
  #requested = 0;
  /** The last reserve answered a full batch: more work is likely, so further calls may overlap. */
  #busy = false;
  /** Set when a reserve found no job: when to look again (null: after `sleep`). */
  #empty: { wakeAt: number | null } | undefined;
  /** Set when a reserve failed: the loop backs off before the next. */
  #reserveError: unknown;
  /** Reserve failures in a row (the backoff grows with them); a reserve that answers resets it. */
  #reserveFailures = 0;
  #startedAt = 0;
  #run: Promise<WorkerStopReason> | undefined;

  constructor(options: WorkerOptions) {
    validate(options);
    this.#options = options;
    this.#driver = options.driver;
    this.queues = [...options.queues];
    this.name = options.name ?? defaultWorkerName();
    this.#log = (options.log ?? silentLogger()).child({ worker: this.name });
    this.#concurrency = options.once ? 1 : (options.concurrency ?? 1);
    this.#ahead = new ReserveAhead(this.#concurrency, options.prefetch);
    this.#maxJobs = options.once ? 1 : (options.maxJobs ?? Number.POSITIVE_INFINITY);
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#acks = new AckBuffer(this.#driver, this.#log, {
      // announced and logged once stored: a completion refused for a lost lease is not a completed job
      stored: (entries) => {
        options.events?.completed(entries, this.name);
        if (!this.#log.isLevelEnabled('info')) return;
        for (const { job, durationMs } of entries) {
          this.#log.info({ event: 'job.completed', ...jobFields(job), durationMs }, 'job completed');
        }
      },
      lost: ({ job, durationMs }) =>
        this.#log.warn(
          { event: 'job.lease_lost', ...jobFields(job), durationMs },
          'completed after its lease was lost; it runs again',
        ),
    });
    this.#runner = new JobRunner(this.#driver, options.registry, this.#log, this.#acks, {
      tries: options.tries ?? DEFAULT_TRIES,
      timeoutSeconds: options.timeout ?? 60,
      backoff: options.backoff ?? 0,
      progressIntervalMs: options.progressIntervalMs ?? 1000,
      worker: this.name,
      events: options.events,
      graceOver: this.#graceOver.signal,
    });
  }

  /** Ids of the jobs running now (two queues may each run a job of the same id). */
  get runningJobIds(): string[] {
    return this.#running.values().map(({ job }) => job.id);
  }

  /** Runs until stopped or a limit is reached; running jobs are finished or released first. */
  run(): Promise<WorkerStopReason> {
    this.#run ??= this.#runLoop();
    return this.#run;
  }

  /** Stops and resolves once running jobs are finished or released. */
  async shutdown(): Promise<void> {
    this.stop();
    if (this.#run) await this.#run;
  }

  async #runLoop(): Promise<WorkerStopReason> {
    this.#startedAt = Date.now();
    this.#log.info(
      { event: 'worker.started', queues: this.queues, concurrency: this.#concurrency },
      'worker started',
    );
    const renewal = setInterval(
      () => {
        // while every slot is busy, nothing else looks at the limits
        if (!this.#stopReason) this.#checkLimits();
        void this.#renewLeases();
      },
      Math.max(50, Math.floor(this.#leaseMs / 3)),
    );
    renewal.unref();
    const heartbeatMs = this.#options.heartbeatMs ?? 5000;
    const heartbeat = setInterval(() => void this.#heartbeat(heartbeatMs), heartbeatMs);
    heartbeat.unref();
    await this.#heartbeat(heartbeatMs);
    const stopListening = await this.#driver
      .subscribeCancels((queue, id) => this.#cancelRunning(queue, id))
      .catch((error: unknown) => {
        this.#log.warn(
          { event: 'worker.cancel_listen_failed', err: error },
          'cancels will arrive with lease renewals',
        );
        return undefined;
      });
    try {
      await this.#loop();
    } finally {
      await this.#drain();
      clearInterval(renewal);
      clearTimeout(this.#startReport);
      clearInterval(heartbeat);
      await stopListening?.().catch(() => {});
      await this.#driver.removeWorker(this.name).catch(() => {});
    }
    this.#log.info({ event: 'worker.stopped', reason: this.#stopReason }, 'worker stopped');
    return this.#stopReason ?? 'stopped';
  }

  /**
   * Stops reserving; running jobs get `shutdownGraceMs` to finish, then are released. A stop for
   * a limit (`max-time`, `memory`) lets them finish however long they take (each is bounded by
   * its own timeout): handed back, a job longer than the time between two such stops would be
   * handed back at every one, its try never counted. A `stop()` while that wait goes on (a
   * signal) starts the grace period.
   */
  stop(reason: WorkerStopReason = 'stopped'): void {
    if (this.#stopReason) {
      if (reason === 'stopped' && this.#graceFrom === undefined) this.#graceFrom = Date.now();
      return;
    }
    this.#stopReason = reason;
    if (reason !== 'max-time' && reason !== 'memory') this.#graceFrom = Date.now();
    else if (this.#running.size > 0) {
      this.#log.info(
        { event: 'worker.finishing', reason, running: this.#running.size },
        'limit reached: reserving no more jobs, and letting the running ones finish (a stop signal hands them back after the grace period)',
      );
    }
    this.#driver.interrupt();
    this.#stopping.abort();
    this.#wake();
  }

  #wake(): void {
    const wake = this.#wakeLoop;
    this.#wakeLoop = undefined;
    wake?.();
  }

  /**
   * Keeps the worker supplied: up to `concurrency` jobs run and up to `ReserveAhead.depth`
   * more wait reserved. While queues are busy, up to three reserve calls overlap, so a batch
   * is already on its way when the previous one has been handed out (Node and Redis work at
   * once).
   */
  async #loop(): Promise<void> {
    try {
      while (!this.#stopReason) {
        this.#checkLimits();
        if (this.#stopReason) break;
        if (this.#reserveError !== undefined) {
          const error = this.#reserveError;
          this.#reserveError = undefined;
          this.#reserveFailures++;
          const delay = backoffMs(this.#reserveFailures);
          this.#log.error(
            { event: 'worker.reserve_failed', err: error, retryInMs: delay },
            'could not reserve jobs',
          );
          // cut short by stop(): a shutdown does not wait out the backoff
          await sleep(delay, undefined, { signal: this.#stopping.signal }).catch(() => {});
          continue;
        }
        const free = Math.min(
          this.#concurrency + this.#ahead.depth - this.#running.size - this.#ready.length - this.#requested,
          this.#maxJobs - this.#reserved - this.#requested,
        );
        const lanes = this.#busy ? 3 : 1;
        // A further call only for a worthwhile batch: tiny reserves cost a round trip each.
        const worthwhile = this.#fetches.size === 0 || free >= Math.max(1, this.#concurrency / 2);
        if (free > 0 && this.#fetches.size < lanes && worthwhile && this.#empty === undefined) {
          this.#fetch(free);
          continue;
        }
        if (this.#fetches.size === 0) {
          const idle = this.#running.size === 0 && this.#ready.length === 0;
          if (this.#empty !== undefined) {
            const { wakeAt } = this.#empty;
            this.#empty = undefined;
            if (this.#options.stopWhenEmpty || this.#options.once) {
              // jobs on their way back to the queue are not done with: look again once they are
              if (idle && this.#handingBack === 0) {
                this.stop(this.#options.once ? 'once' : 'empty');
                break;
              }
              // Empty, with jobs still running: look again when one ends (the wait below; a
              // job finishing wakes the loop, it would not end a wait for new work).
            } else {
              const sleepMs = (this.#options.sleep ?? 3) * 1000;
              const untilWake = wakeAt === null ? sleepMs : Math.max(10, wakeAt - Date.now());
              // an idle worker checks its limits when the wait ends: not past its --max-time
              const { maxTime } = this.#options;
              const untilMaxTime =
                maxTime === undefined ? sleepMs : Math.max(10, this.#startedAt + maxTime * 1000 - Date.now());
              await this.#driver.waitForWork(this.queues, Math.min(sleepMs, untilWake, untilMaxTime));
              continue;
            }
          } else if (this.#reserved >= this.#maxJobs && idle) {
            this.stop(this.#options.once ? 'once' : 'max-jobs');
            break;
          }
        }
        await new Promise<void>((resolve) => {
          this.#wakeLoop = resolve;
        });
      }
    } finally {
      // Reserves still in flight land in the ready buffer, which the drain releases.
      while (this.#fetches.size > 0) await Promise.all(this.#fetches);
    }
  }

  /** Starts one reserve call for up to `count` jobs; its outcome wakes the loop. */
  #fetch(count: number): void {
    this.#requested += count;
    const sent = performance.now();
    const fetch = this.#reserve(count).then(
      ({ jobs, wakeAt, settled }) => {
        this.#ahead.reserveAnswered(performance.now() - sent);
        this.#reserveFailures = 0;
        this.#busy = jobs.length === count;
        if (jobs.length > 0) {
          this.#empty = undefined;
          this.#ready.push(...(this.#heardCancels.size > 0 ? this.#withoutHeardCancels(jobs) : jobs));
          this.#fill();
        } else if (this.#fetches.size === 1 && !settled) {
          // (a call whose places all went to jobs it expired or failed says nothing of the rest)
          this.#empty = { wakeAt };
        }
      },
      (error: unknown) => {
        this.#busy = false;
        this.#reserveError = error;
      },
    );
    const tracked = fetch.finally(() => {
      this.#requested -= count;
      this.#fetches.delete(tracked);
      this.#wake();
    });
    this.#fetches.add(tracked);
  }

  /**
   * Reserves up to `free` jobs from the queues in their order. `settled` says whether the
   * calls also took jobs off a queue without handing them out (expired, or failed for good):
   * they used up places, so no job back does not mean the queues are empty.
   */
  async #reserve(free: number): Promise<{ jobs: ReservedJob[]; wakeAt: number | null; settled: boolean }> {
    const jobs: ReservedJob[] = [];
    let wakeAt: number | null = null;
    let settled = false;
    queues: for (const queue of this.queues) {
      for (let count = free - jobs.length; count > 0; count = free - jobs.length) {
        let result: ReserveResult;
        try {
          result = await this.#driver.reserve(queue, {
            count,
            leaseMs: this.#leaseMs,
            worker: this.name,
            defaultMaxTries: this.#options.tries ?? DEFAULT_TRIES,
          });
        } catch (error) {
          // Keep what earlier calls gave (they are leased to us); report the error only if nothing came.
          if (jobs.length === 0) throw error;
          this.#log.error(
            { event: 'worker.reserve_failed', err: error, queue },
            'could not reserve from a queue',
          );
          break queues;
        }
        jobs.push(...result.jobs);
        this.#settle(queue, result);
        if (result.wakeAt !== null && (wakeAt === null || result.wakeAt < wakeAt)) wakeAt = result.wakeAt;
        const usedUp = result.abandoned.length + result.expired.length;
        if (usedUp > 0) settled = true;
        // Jobs the call took off the queue without handing them out (expired, or failed for
        // good) used up places: the queue may still hold ready jobs, which come before any
        // job of a later queue (strict order), so it is asked again for the places left.
        if (usedUp === 0 || result.jobs.length >= count) break;
      }
    }
    this.#reserved += jobs.length;
    return { jobs, wakeAt, settled };
  }

  /** Logs and announces what a reserve call on `queue` changed, and runs the failed() hooks of the jobs it failed. */
  #settle(queue: string, result: ReserveResult): void {
    // first: the call made these changes before it expired or failed any job it popped, and
    // a job come due may be one of those
    for (const { id, name, attempt, status, reclaimed } of result.changed) {
      if (status === 'cancelled') {
        // its worker stopped renewing the lease after the cancel was asked for
        this.#log.info(
          { event: 'job.cancelled', ...jobFields({ id, name, queue, attempt }) },
          'job cancelled',
        );
      } else if (reclaimed) {
        this.#log.warn(
          { event: 'job.reclaimed', ...jobFields({ id, name, queue, attempt }) },
          'job back in its queue: its worker stopped renewing its lease (crashed?); attempt is the tries it used',
        );
      }
      this.#options.events?.emit({ id, name, queue }, status, attempt);
    }
    // kept, so a stop waits for their failed() hooks, up to its grace period
    for (const record of result.abandoned) {
      const hook = this.#runner.abandoned(record).catch((error: unknown) => this.#unexpected(error, record));
      this.#tracked(hook, this.#failedHooks);
    }
    for (const expired of result.expired) {
      this.#log.info(
        { event: 'job.expired', jobId: expired.id, job: expired.name, queue, attempt: 0 },
        'job expired unstarted',
      );
      this.#options.events?.emit({ ...expired, queue }, 'expired', 0);
    }
  }

  #start(job: ReservedJob): void {
    // Reserved ahead of a free slot, it may have waited past its expiresAt: it must not start.
    if (job.expiresAt !== undefined && job.expiresAt <= Date.now()) {
      this.#reserved--; // it does not count towards --max-jobs or --once
      this.#releaseExpired(job);
      return;
    }
    const running: RunningJob = {
      job,
      lease: leaseOf(job),
      controller: new JobAbort(),
    };
    const key = this.#runningKey(job.queue, job.id);
    // A job reserved again by this same worker (its first lease lapsed) replaces the stale run.
    this.#running
      .get(key)
      ?.controller.abort(
        new LeaseLostError(`job ${job.id} was reserved again; its earlier run lost its lease`),
      );
    this.#running.set(key, running);
    if (this.#startReport === undefined) {
      this.#startReport = setTimeout(() => {
        this.#startReport = undefined;
        void this.#reportStarts();
      }, START_REPORT_MS);
      this.#startReport.unref();
    }
    const started = performance.now();
    void this.#runner
      .run(running)
      .catch((error: unknown) => this.#unexpected(error, job))
      .finally(() => {
        this.#ahead.jobFinished(performance.now() - started);
        if (this.#running.get(key) === running) this.#running.delete(key);
        this.#fill();
        this.#shedAhead();
        this.#wake();
      });
  }

  /**
   * Hands back the jobs held reserved ahead once the worker, left to decide, finds its jobs
   * clearly long ({@link ReserveAhead.jobsLong}): reserved while jobs were short, each would
   * otherwise wait a whole long job here while an idle worker could run it. They go back to
   * the front of their queues, attempts not counted, and never run here under this lease.
   * While Redis is away the release is tried again; if it still fails, their leases, no
   * longer renewed, end, and the reserve that takes them back gives their attempts back too.
   */
  #shedAhead(): void {
    if (this.#ready.length === 0 || this.#stopReason || !this.#ahead.jobsLong) return;
    const jobs = this.#ready.splice(0);
    const jobIds = jobs.map((job) => job.id);
    const queues = distinctQueues(jobs);
    this.#reserved -= jobs.length; // they never run here: they do not count towards --max-jobs
    this.#handingBack++;
    const settling = whileRedisPasses(
      () => this.#driver.release(jobs.map(leaseOf)),
      (error, retryInMs, tries) =>
        this.#log.warn(
          {
            event: 'worker.hand_back_retry',
            err: error,
            tries,
            retryInMs,
            jobIds,
            queues,
          },
          'could not hand back the jobs reserved ahead; trying again',
        ),
    ).then(
      (outcomes) => {
        for (const [index, job] of jobs.entries()) this.#announceRelease(job, outcomes[index]);
        this.#log.info(
          { event: 'worker.handed_back', jobIds, queues },
          'jobs grew long: handed back the jobs reserved ahead, for idle workers',
        );
      },
      (error: unknown) =>
        this.#log.warn(
          { event: 'worker.hand_back_failed', err: error, jobIds, queues },
          'could not hand back the jobs reserved ahead; they go back to their queues when their leases end',
        ),
    );
    this.#tracked(
      settling.finally(() => {
        this.#handingBack--;
        // a worker told to stop when empty looks again: the jobs are back in the queue
        this.#wake();
      }),
    );
  }

  /**
   * Hands back a reserved-ahead job whose `expiresAt` passed before a slot freed, without
   * counting the attempt: the reserve that takes it next marks it `expired` by Redis's clock,
   * as it does every job it finds past its time, so the job never runs. When Redis cannot be
   * reached the job waits in `#unreleased`, its lease renewed, for the next try.
   */
  #releaseExpired(job: ReservedJob): void {
    const lease = leaseOf(job);
    const releasing = this.#driver.release([lease]).then(
      // back only to be marked expired by the next reserve: no `queued` event
      ([outcome]) => this.#announceRelease(job, outcome, false),
      (error: unknown) => {
        this.#unreleased.push(job);
        this.#log.warn(
          { event: 'worker.release_failed', err: error, jobId: job.id, queue: job.queue },
          'could not hand back a job past its expiresAt; trying again with the next lease renewal',
        );
      },
    );
    this.#tracked(releasing);
  }

  /**
   * Logs an error the runner let through (it settles every attempt itself): a fire-and-forget
   * call must not end the process with an unhandled rejection.
   */
  #unexpected(error: unknown, job: { id: string; queue: string; name: string }): void {
    this.#log.error(
      { event: 'job.runner_error', err: error, jobId: job.id, queue: job.queue, job: job.name },
      'unexpected error while running a job',
    );
  }

  /** Keeps `settling` in `#releasing` until it settles, so shutdown waits for it. */
  #tracked(settling: Promise<void>, into: Set<Promise<void>> = this.#releasing): void {
    into.add(settling);
    void settling.finally(() => into.delete(settling));
  }

  /**
   * Starts reserved-ahead jobs while slots are free (not once stopping: those are released).
   * The time and memory limits are checked first: a worker past them starts nothing more.
   */
  #fill(): void {
    if (this.#limited && this.#ready.length > 0 && !this.#stopReason) this.#checkLimits();
    while (!this.#stopReason && this.#ready.length > 0 && this.#running.size < this.#concurrency) {
      this.#start(this.#ready.shift()!);
    }
  }

  /** Takes a reserved-ahead job out of the buffer; undefined when it is not there. */
  #unbuffer(queue: string, id: string): ReservedJob | undefined {
    const index = this.#ready.findIndex((job) => job.id === id && job.queue === queue);
    return index < 0 ? undefined : this.#ready.splice(index, 1)[0];
  }

  /**
   * The key of a running job in `#running`. Ids are unique within a queue only, so a worker of
   * several queues knows its jobs by queue and id (no queue name holds a newline); one of a
   * single queue by id alone, which spares the hot path building a string per job.
   */
  #runningKey(queue: string, id: string): string {
    return this.queues.length === 1 ? id : `${queue}\n${id}`;
  }

  /**
   * Ends a reserved-ahead job whose cancel was requested, without running it: handed back
   * (its attempt not counted), a job whose cancel was requested ends `cancelled`. One whose
   * cancel was not requested after all (a stale or forged broadcast: anyone may PUBLISH)
   * goes back to its queue and runs later. While Redis is away it is tried a few times; then
   * the lease, no longer renewed, ends and the reserve that reclaims it ends it the same way.
   */
  async #cancelBuffered(job: ReservedJob): Promise<void> {
    this.#reserved--; // it never runs here: it does not count towards --max-jobs or --once
    // one whose cancel was not recorded goes back to its queue: a worker told to stop when
    // empty waits for it, as for a hand-back
    this.#handingBack++;
    let outcome: ReleaseOutcome | undefined;
    try {
      [outcome] = await whileRedisPasses(
        () => this.#driver.release([leaseOf(job)]),
        (error, retryInMs, tries) =>
          this.#log.warn(
            { event: 'job.cancel_retry', err: error, tries, retryInMs, jobId: job.id, queue: job.queue },
            'could not end a job reserved ahead whose cancel was requested; trying again',
          ),
      );
    } catch (error) {
      this.#log.warn(
        { event: 'job.cancel_failed', err: error, jobId: job.id, queue: job.queue, job: job.name },
        'could not end a job reserved ahead whose cancel was requested; it ends when its lease does',
      );
      return;
    } finally {
      this.#handingBack--;
      this.#wake();
    }
    if (outcome === 'cancelled') {
      this.#log.info({ event: 'job.cancelled', ...jobFields(job) }, 'job cancelled before it started');
    }
    this.#announceRelease(job, outcome);
  }

  /**
   * Publishes what a release made of a job this worker held: `queued` (back in its queue, unless
   * `queued` is false) or `cancelled`, at the attempt before the one given back.
   */
  #announceRelease(job: ReservedJob, outcome: ReleaseOutcome | undefined, queued = true): void {
    if (outcome === 'cancelled') this.#options.events?.emit(job, 'cancelled', job.attempt - 1);
    else if (outcome === 'queued' && queued) this.#options.events?.emit(job, 'queued', job.attempt - 1);
  }

  #cancelRunning(queue: string, id: string): void {
    const running = this.#running.get(this.#runningKey(queue, id));
    // a worker of one queue keys by id alone: a cancel for another queue's job of that id is not its
    if (running && running.job.queue === queue) {
      // A broadcast is a hint: anyone may PUBLISH, and a late one may name a job id used again
      // since. The job's lease says whether its cancel was requested; a renewal of it aborts the
      // job if so (a lost lease too). While Redis cannot answer, the next renewal tells.
      this.#driver.extend([running.lease], this.#leaseMs, { started: 1 }).then(
        (states) => this.#settleRunning([running], states),
        (error: unknown) =>
          this.#log.warn(
            { event: 'job.cancel_check_failed', err: error, jobId: id, queue },
            'could not check a cancel request; the next lease renewal does',
          ),
      );
      return;
    }
    const buffered = this.#unbuffer(queue, id);
    // tried for a few seconds while Redis is away: shutdown waits for it before closing up
    if (buffered) this.#tracked(this.#cancelBuffered(buffered));
    // only for its own queues: cancels of other queues' jobs must not push those out
    else if (this.queues.includes(queue)) this.#heardCancels.remember(queue, id);
  }

  /**
   * The reserved `jobs` but those a cancel was heard for: those are handed back at once, as a
   * reserved-ahead job whose cancel comes in is ({@link Worker.#cancelBuffered}), so one whose
   * cancel was requested ends `cancelled` without starting. A stale or forged broadcast costs
   * that job a trip back to the front of its queue.
   */
  #withoutHeardCancels(jobs: ReservedJob[]): ReservedJob[] {
    const kept: ReservedJob[] = [];
    for (const job of jobs) {
      if (this.#heardCancels.take(job.queue, job.id)) this.#tracked(this.#cancelBuffered(job));
      else kept.push(job);
    }
    return kept;
  }

  async #heartbeat(intervalMs: number): Promise<void> {
    try {
      const replaced = await this.#driver.heartbeat(
        {
          id: this.name,
          host: hostname(),
          pid: process.pid,
          queues: [...this.queues],
          concurrency: this.#concurrency,
          runningJobIds: this.runningJobIds,
          startedAt: this.#startedAt,
          heartbeatAt: Date.now(),
        },
        intervalMs * 3,
      );
      // a custom driver may answer anything (ioredis's 'OK'): only a heartbeat counts
      const other = isWorkerInfo(replaced) ? replaced : undefined;
      // twice in a row: a worker restarted under its name replaces its dead self's heartbeat once
      this.#nameClashes = other ? this.#nameClashes + 1 : 0;
      if (other && this.#nameClashes >= 2 && !this.#nameClashLogged) {
        // both keep writing the one entry: queue:workers lists either, with its running jobs only
        this.#nameClashLogged = true;
        this.#log.warn(
          { event: 'worker.name_in_use', worker: this.name, otherHost: other.host, otherPid: other.pid },
          `another live worker (${other.host}, pid ${other.pid}) is named ${this.name} too, so queue:workers lists only one of them at a time; give each worker its own --name, or leave the default (host:pid:random)`,
        );
      }
    } catch (error) {
      this.#log.warn({ event: 'worker.heartbeat_failed', err: error }, 'could not record heartbeat');
    }
  }

  async #renewLeases(): Promise<void> {
    // the running ones not reported started yet first: extend marks only those (see #reportStarts)
    const all = this.#running.values();
    const fresh = all.filter((entry) => !this.#reported.has(entry));
    const running = [...fresh, ...all.filter((entry) => this.#reported.has(entry))];
    const buffered = [...this.#ready];
    // copied, not taken: a shutdown meanwhile hands them back itself (#drain)
    const unreleased = [...this.#unreleased];
    if (running.length === 0 && buffered.length === 0 && unreleased.length === 0) return;
    try {
      // started and not reported yet: their attempts count if this worker dies from now on
      const states = await this.#driver.extend(
        [...running.map((entry) => entry.lease), ...[...buffered, ...unreleased].map(leaseOf)],
        this.#leaseMs,
        { started: fresh.length },
      );
      // still ours (or to be cancelled, which the hand-back does): try handing it back again,
      // unless the shutdown took it meanwhile
      unreleased.forEach((job, index) => {
        const at = this.#unreleased.indexOf(job);
        if (at < 0) return;
        this.#unreleased.splice(at, 1);
        if (states[running.length + buffered.length + index] !== 'lost') this.#releaseExpired(job);
      });
      buffered.forEach((job, index) => {
        const state = states[running.length + index];
        if (state === 'ok' || !this.#unbuffer(job.queue, job.id)) return;
        // tracked, as a broadcast cancel's is: shutdown waits for it (and its event)
        if (state === 'cancel') this.#tracked(this.#cancelBuffered(job));
      });
      this.#settleRunning(running, states);
    } catch (error) {
      this.#log.error({ event: 'worker.renew_failed', err: error }, 'could not renew leases; retrying');
    }
  }

  /**
   * Tells the driver which jobs started since the last renewal or report and still run, so
   * that if this worker dies their attempts count (a lease that ends on a job never known to
   * start gives its attempt back: `MAX_STALLS`). Runs {@link START_REPORT_MS} after the first
   * start in a while, so only jobs that run that long cost a call, one per report; the lease
   * renewal (every third of the lease) reports the rest.
   */
  async #reportStarts(): Promise<void> {
    const fresh = this.#running.values().filter((running) => !this.#reported.has(running));
    if (fresh.length === 0) return;
    try {
      const states = await this.#driver.extend(
        fresh.map((running) => running.lease),
        this.#leaseMs,
        { started: fresh.length },
      );
      this.#settleRunning(fresh, states);
    } catch (error) {
      // the next renewal reports them
      this.#log.warn({ event: 'worker.start_report_failed', err: error }, 'could not report started jobs');
    }
  }

  /** Marks `running` reported and aborts those whose renewal says lost or cancelled. */
  #settleRunning(running: readonly RunningJob[], states: readonly LeaseState[]): void {
    running.forEach((entry, index) => {
      this.#reported.add(entry);
      const { controller, job } = entry;
      const state = states[index];
      if (state === 'lost') {
        controller.abort(
          new LeaseLostError(`job ${job.id} lost its lease (expired or taken by another worker)`),
        );
      } else if (state === 'cancel') {
        controller.abort(new JobCancelledError(`job ${job.id} was cancelled`));
      }
    });
  }

  /** Whether a time or memory limit is set (the default worker checks none per job). */
  get #limited(): boolean {
    return this.#options.maxTime !== undefined || this.#options.memory !== undefined;
  }

  #checkLimits(): void {
    const { maxTime, memory } = this.#options;
    const now = Date.now();
    if (maxTime !== undefined && now - this.#startedAt >= maxTime * 1000) this.stop('max-time');
    // reading the RSS costs a system call: at most every 100 ms, not once per job
    else if (memory !== undefined && now - this.#memoryCheckedAt >= 100) {
      this.#memoryCheckedAt = now;
      if (process.memoryUsage.rss() / 1048576 >= memory) this.stop('memory');
    }
  }

  async #drain(): Promise<void> {
    // Jobs reserved ahead never started: back to their queues at once, for other workers,
    // instead of held through the grace period.
    await this.#handBack([], this.#takeWaiting());
    const graceMs = this.#options.shutdownGraceMs ?? 10_000;
    // A limit's stop lets running jobs finish until their timeouts have passed (and the grace
    // period after, for their failures to be recorded); a signal meanwhile starts the grace
    // period. A job without a timer (a timeout past MAX_TIMER_MS) gets MAX_TIMER_MS, as a bound.
    const limitEnd =
      Date.now() +
      Math.min(
        MAX_TIMER_MS,
        Math.max(0, ...this.#running.values().map(({ job }) => this.#runner.timeoutMsOf(job))),
      ) +
      graceMs;
    const deadlineNow = () => (this.#graceFrom === undefined ? limitEnd : this.#graceFrom + graceMs);
    while (this.#running.size > 0 && Date.now() < deadlineNow()) {
      await sleep(Math.max(1, Math.min(50, deadlineNow() - Date.now())));
    }
    const deadline = Math.min(deadlineNow(), Date.now() + graceMs);
    // each is bounded by its job's timeout, which may be far longer than a stop may take
    if (this.#failedHooks.size > 0 && Date.now() < deadline) {
      const grace = new AbortController();
      await Promise.race([
        Promise.all(this.#failedHooks),
        sleep(deadline - Date.now(), undefined, { signal: grace.signal }).catch(() => {}),
      ]);
      grace.abort();
    }
    // A run whose failure is recorded only waits for its failed() hook: its job is off its lease
    // and failed for good, so it is not handed back (that would log it released, outcome lost).
    const running = this.#running.values();
    const hooked = running.filter((entry) => entry.failureRecorded);
    for (const { job } of hooked) {
      this.#log.warn(
        { event: 'job.failed_hook_abandoned', ...jobFields(job) },
        "stopping with the job's failed() hook still running: the grace period ended first",
      );
    }
    const hooksLeft = this.#failedHooks.size + hooked.length;
    if (hooksLeft > 0) {
      this.#log.warn(
        { event: 'worker.failed_hooks_left', count: hooksLeft },
        'stopping with failed() hooks still running: the grace period ended first',
      );
    }
    while (this.#releasing.size > 0) await Promise.all(this.#releasing);
    this.#graceOver.abort();
    // what is still running (first: they started), and any hand-back that failed meanwhile
    await this.#handBack(
      this.#running.values().filter((entry) => !entry.failureRecorded),
      this.#takeWaiting(),
    );
    await this.#acks.flush();
    this.#options.events?.flush();
  }

  /** Takes the jobs reserved ahead and those whose hand-back failed, as entries to release. */
  #takeWaiting(): (RunningJob & { expired?: true })[] {
    const entry = (job: ReservedJob) => ({ job, lease: leaseOf(job), controller: new JobAbort() });
    return [
      ...this.#ready.splice(0).map(entry),
      // past their expiresAt: back in the queue only to be marked expired, so no `queued` event
      ...this.#unreleased.splice(0).map((job) => ({ ...entry(job), expired: true as const })),
    ];
  }

  /**
   * Releases the `running` jobs and those `waiting` to start on shutdown (their signals fire
   * first) and announces what became of them.
   */
  async #handBack(
    running: readonly RunningJob[],
    waiting: readonly (RunningJob & { expired?: true })[],
  ): Promise<void> {
    const left: (RunningJob & { expired?: true })[] = [...running, ...waiting];
    if (left.length === 0) return;
    for (const { controller } of left) controller.abort(new WorkerShutdownError('worker shutting down'));
    try {
      const outcomes = await this.#driver.release(
        left.map((entry) => entry.lease),
        // started: handed back, each still counts as having run should it come due past its expiresAt
        { started: running.length },
      );
      for (const [index, { job, expired }] of left.entries()) {
        this.#announceRelease(job, outcomes[index], !expired);
        this.#log.info(
          { event: 'job.released', ...jobFields(job), outcome: outcomes[index] },
          'job handed back unfinished',
        );
      }
    } catch (error) {
      this.#log.error(
        {
          event: 'worker.release_failed',
          err: error,
          jobIds: left.map(({ job }) => job.id),
          queues: distinctQueues(left.map(({ job }) => job)),
        },
        'could not release; leases will expire',
      );
    }
  }
}

function validate(options: WorkerOptions): void {
  if (options.queues.length === 0) throw new InvalidOptionError('a worker needs at least one queue');
  for (const queue of options.queues) assertQueueName(queue);
  if (options.name !== undefined) assertWorkerName(options.name);
  const positiveInt = (value: number | undefined, label: string) => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new InvalidOptionError(`${label} must be a whole number >= 1; got ${value}`);
    }
  };
  const positive = (value: number | undefined, label: string) => {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      throw new InvalidOptionError(`${label} must be a number > 0; got ${value}`);
    }
  };
  positiveInt(options.concurrency, 'concurrency');
  positiveInt(options.tries, 'tries');
  positiveInt(options.maxJobs, 'maxJobs');
  positive(options.timeout, 'timeout');
  positive(options.sleep, 'sleep');
  positive(options.maxTime, 'maxTime');
  positive(options.memory, 'memory');
  positive(options.leaseMs, 'leaseMs');
  if (options.leaseMs !== undefined && options.leaseMs > MAX_LEASE_MS) {
    throw new InvalidOptionError(
      `leaseMs must be at most ${MAX_LEASE_MS} (about 24.8 days, Node's longest timer); got ${options.leaseMs}`,
    );
  }
  if (options.backoff !== undefined) assertRetryPolicy(options.backoff, 'backoff');
  const { prefetch } = options;
  if (prefetch !== undefined && !isPrefetch(prefetch)) {
    throw new InvalidOptionError(
      `prefetch must be a whole number from 0 to ${MAX_PREFETCH}, or left out so the worker decides; got ${prefetch}`,
    );
  }
}

/** The lease a reserved job is held under. */
function leaseOf(job: ReservedJob): Lease {
  return { id: job.id, queue: job.queue, token: job.token };
}
