/**
 * The queue worker behind `npx topiq queue:work`: reserves jobs from its queues in strict
 * order, runs up to `concurrency` at once, renews their leases, acknowledges in batches,
 * blocks (without polling) when idle, and shuts down gracefully.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseLostError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { ChurnMap } from '../support/churn_map.js';
import { backoffMs } from '../support/retry.js';
import { aborted, withDeadline } from '../support/timers.js';
import { AckBuffer, workerOutcomes } from './ack_buffer.js';
import type { LeaseState, QueueDriver, ReservedJob } from './driver.js';
import { HandBacks, track } from './hand_backs.js';
import { HeardCancels } from './heard_cancels.js';
import { JobAbort } from './job_abort.js';
import { JobRunner, type RunningJob } from './job_runner.js';
import { LeaseKeeper, leaseOf } from './lease_keeper.js';
import { defaultWorkerName } from './names.js';
import { ReserveAhead } from './reserve_ahead.js';
import { DEFAULT_TRIES } from './retry_policy.js';
import { StrictReserve } from './strict_reserve.js';
import { warnOfUnknownQueues } from './unknown_queue_warning.js';
import { drainWorker } from './worker_drain.js';
import { WorkerHeartbeat } from './worker_heartbeat.js';
import { WorkerLimits } from './worker_limits.js';
import { validateWorkerOptions, type WorkerOptions, type WorkerStopReason } from './worker_options.js';

export type { WorkerOptions, WorkerStopReason } from './worker_options.js';

/**
 * How long a stopped worker waits, at most, to stop listening for cancels and leave the live
 * workers (`queue:workers`): best effort, as its heartbeat expires anyway.
 */
const LEAVE_WAIT_MS = 1_000;

/**
 * How long a starting worker waits, at most, to listen for cancels before it reserves: one it
 * misses meanwhile comes with the job's next lease renewal.
 */
const LISTEN_WAIT_MS = 3_000;

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
  readonly #concurrency: number;
  readonly #maxJobs: number;
  readonly #leaseMs: number;
  readonly #leases: LeaseKeeper;
  readonly #heartbeat: WorkerHeartbeat;
  readonly #strictReserve: StrictReserve;
  /** Aborted by stop(): ends the wait after a failed reserve, so a shutdown does not wait it out. */
  readonly #stopping = new AbortController();
  /** Aborted when the shutdown grace period ends, before what still runs is handed back. */
  readonly #graceOver = new AbortController();
  /** `#fill` as a value, made once: the hot path passes it at every start. */
  readonly #refill = () => this.#fill();
  /** Jobs reserved so far (for `maxJobs`). */
  #reserved = 0;
  #stopReason: WorkerStopReason | undefined;
  /** When the grace period of running jobs began: at the stop, or at a signal after a limit's stop. */
  #graceFrom: number | undefined;
  /** Resolves the loop's wait for something to happen (a slot freed, a reserve answered, stop). */
  #wakeLoop: (() => void) | undefined;
  /** Jobs reserved ahead of a free slot, so Redis works while jobs run (see ReserveAhead). */
  readonly #ready: ReservedJob[] = [];
  /** Reserved-ahead jobs going back to their queues unrun: shed, expired or cancelled. */
  readonly #handBacks: HandBacks;
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
  readonly #limits: WorkerLimits;
  #run: Promise<WorkerStopReason> | undefined;

  constructor(options: WorkerOptions) {
    validateWorkerOptions(options);
    this.#options = options;
    this.#driver = options.driver;
    this.queues = [...options.queues];
    this.name = options.name ?? defaultWorkerName();
    this.#log = (options.log ?? silentLogger()).child({ worker: this.name });
    this.#concurrency = options.once ? 1 : (options.concurrency ?? 1);
    this.#ahead = new ReserveAhead(this.#concurrency, options.prefetch);
    this.#maxJobs = options.once ? 1 : (options.maxJobs ?? Number.POSITIVE_INFINITY);
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#limits = new WorkerLimits(options.maxTime, options.memory);
    this.#acks = new AckBuffer(this.#driver, this.#log, workerOutcomes(this.#log, options.events, this.name));
    this.#runner = new JobRunner(this.#driver, options.registry, this.#log, this.#acks, {
      tries: options.tries ?? DEFAULT_TRIES,
      timeoutSeconds: options.timeout ?? 60,
      backoff: options.backoff ?? 0,
      progressIntervalMs: options.progressIntervalMs ?? 1000,
      worker: this.name,
      events: options.events,
      graceOver: this.#graceOver.signal,
    });
    this.#handBacks = new HandBacks(this.#driver, this.#log, options.events, () => this.#wake());
    this.#leases = new LeaseKeeper(this.#driver, this.#log, this.#leaseMs, {
      running: this.#running,
      ready: this.#ready,
      unreleased: this.#handBacks.unreleased,
      releaseAgain: (job) => this.#handBacks.releaseExpired(job),
      acknowledging: () => this.#acks.leases,
      aheadLeaseEnded: (job, state) => this.#aheadLeaseEnded(job, state),
    });
    this.#heartbeat = new WorkerHeartbeat(this.#driver, this.#log, options.heartbeatMs ?? 5000, () => ({
      id: this.name,
      host: hostname(),
      pid: process.pid,
      queues: [...this.queues],
      concurrency: this.#concurrency,
      runningJobIds: this.runningJobIds,
      startedAt: this.#limits.startedAt,
      heartbeatAt: Date.now(),
    }));
    this.#strictReserve = new StrictReserve({
      driver: this.#driver,
      queues: this.queues,
      worker: this.name,
      leaseMs: this.#leaseMs,
      defaultMaxTries: options.tries ?? DEFAULT_TRIES,
      log: this.#log,
      events: options.events,
      reserved: (count) => {
        this.#reserved += count;
      },
      // kept, so a stop waits for their failed() hooks, up to its grace period
      abandoned: (record) =>
        track(
          this.#runner.abandoned(record).catch((error: unknown) => this.#unexpected(error, record)),
          this.#failedHooks,
        ),
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
    this.#limits.start();
    this.#log.info(
      { event: 'worker.started', queues: this.queues, concurrency: this.#concurrency },
      'worker started',
    );
    void warnOfUnknownQueues(this.#driver, this.#options.registry, this.queues, this.#log);
    const renewal = setInterval(
      () => {
        // while every slot is busy, nothing else looks at the limits
        if (!this.#stopReason) this.#checkLimits();
        void this.#leases.renew();
      },
      Math.max(50, Math.floor(this.#leaseMs / 3)),
    );
    renewal.unref();
    // Neither wait holds up a stop, nor the loop for long: against a Redis that accepts the
    // connection and answers nothing they never settle (the loop's reserves then fail, logged)
    const { signal } = this.#stopping;
    const stopped = aborted(signal);
    await Promise.race([this.#heartbeat.start(), stopped]);
    // (a failure once stopping, the driver closing under it, says nothing of cancels to come)
    const listening = signal.aborted
      ? Promise.resolve(undefined)
      : this.#driver
          .subscribeCancels((queue, id) => this.#cancelRunning(queue, id))
          .catch((error: unknown) => {
            if (!signal.aborted) {
              this.#log.warn(
                { event: 'worker.cancel_listen_failed', err: error },
                'cancels will arrive with lease renewals',
              );
            }
            return undefined;
          });
    await Promise.race([listening, stopped, sleep(LISTEN_WAIT_MS, undefined, { ref: false })]);
    try {
      await this.#loop();
    } finally {
      await drainWorker({
        name: this.name,
        driver: this.#driver,
        log: this.#log,
        events: this.#options.events,
        acks: this.#acks,
        runner: this.#runner,
        running: this.#running,
        ready: this.#ready,
        handBacks: this.#handBacks,
        failedHooks: this.#failedHooks,
        graceMs: this.#options.shutdownGraceMs ?? 10_000,
        graceFrom: () => this.#graceFrom,
        graceOver: this.#graceOver,
        reserving: () => Promise.all(this.#fetches),
      });
      clearInterval(renewal);
      this.#leases.stop();
      this.#heartbeat.stop();
      // best effort, and bounded, as a link that answers nothing would never settle them: the
      // worker's heartbeat expires anyway
      const leaving = Promise.all([
        listening.then((stopListening) => stopListening?.()).catch(() => {}),
        this.#heartbeat.leave(),
      ]);
      await withDeadline(leaving, LEAVE_WAIT_MS, 'unanswered').catch(() => {});
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
    // Reserves still in flight when it ends land in the ready buffer, which the drain releases
    // (it waits for them, a bounded time, before its last hand-back).
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
            // jobs on their way back to the queue are not done with (nor those whose hand-back
            // failed, tried again with the next renewal): look again once they are
            if (idle && this.#handBacks.handingBack === 0 && this.#handBacks.unreleased.length === 0) {
              this.stop(this.#options.once ? 'once' : 'empty');
              break;
            }
            // Empty, with jobs still running: look again when one ends (the wait below; a
            // job finishing wakes the loop, it would not end a wait for new work).
          } else {
            const sleepMs = (this.#options.sleep ?? 3) * 1000;
            const untilWake = wakeAt === null ? sleepMs : Math.max(10, wakeAt - Date.now());
            // an idle worker checks its limits when the wait ends: not past its --max-time
            await this.#driver.waitForWork(this.queues, this.#limits.waitBound(Math.min(sleepMs, untilWake)));
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
  }

  /** Starts one reserve call for up to `count` jobs; its outcome wakes the loop. */
  #fetch(count: number): void {
    this.#requested += count;
    const sent = performance.now();
    const fetch = this.#strictReserve.reserve(count).then(
      ({ jobs, wakeAt, settled }) => {
        this.#ahead.reserveAnswered(performance.now() - sent);
        if (jobs.length > 0) this.#leases.reserved(sent);
        this.#reserveFailures = 0;
        this.#busy = jobs.length === count;
        if (jobs.length > 0) {
          this.#empty = undefined;
          this.#ready.push(...this.#heardCancels.sift(jobs, (job) => this.#cancelAhead(job)));
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

  /** Starts `job` at `started` (performance.now() ms). */
  #start(job: ReservedJob, started: number): void {
    // Reserved ahead of a free slot, it may have waited past its expiresAt: it must not start.
    if (job.expiresAt !== undefined && job.expiresAt <= Date.now()) {
      this.#reserved--; // it does not count towards --max-jobs or --once
      this.#handBacks.releaseExpired(job);
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
    this.#leases.jobStarted();
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

  /** Hands back the jobs reserved ahead once jobs are found clearly long (see HandBacks.shed). */
  #shedAhead(): void {
    if (this.#ready.length === 0 || this.#stopReason || !this.#ahead.jobsLong) return;
    const jobs = this.#ready.splice(0);
    this.#reserved -= jobs.length; // they never run here: they do not count towards --max-jobs
    this.#handBacks.shed(jobs);
  }

  /** Ends a reserved-ahead job whose cancel was requested, without running it (see HandBacks.cancel). */
  #cancelAhead(job: ReservedJob): void {
    this.#reserved--; // it never runs here: it does not count towards --max-jobs or --once
    this.#handBacks.cancel(job);
  }

  /** A job reserved ahead whose lease renewal answered other than `ok`: it no longer starts here. */
  #aheadLeaseEnded(job: ReservedJob, state: LeaseState | undefined): void {
    if (!this.#unbuffer(job.queue, job.id)) return;
    // tracked, as a broadcast cancel's is: shutdown waits for it (and its event)
    if (state === 'cancel') this.#cancelAhead(job);
    else this.#reserved--; // lost: it never runs here, nor counts towards --max-jobs
    // a slot it held may be free, and the loop asleep waiting for one
    this.#wake();
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

  /**
   * Starts reserved-ahead jobs while slots are free (not once stopping: those are released).
   * The time and memory limits are checked first: a worker past them starts nothing more.
   */
  #fill(): void {
    if (this.#limits.set && this.#ready.length > 0 && !this.#stopReason) this.#checkLimits();
    while (!this.#stopReason && this.#ready.length > 0 && this.#running.size < this.#concurrency) {
      // held jobs whose leases may have lapsed wait for a renewal (LeaseKeeper.mayStart)
      const now = performance.now();
      if (!this.#leases.mayStart(now, this.#refill)) return;
      this.#start(this.#ready.shift()!, now);
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

  #cancelRunning(queue: string, id: string): void {
    const running = this.#running.get(this.#runningKey(queue, id));
    // a worker of one queue keys by id alone: a cancel for another queue's job of that id is not its
    if (running && running.job.queue === queue) {
      this.#leases.checkCancel(running);
      return;
    }
    const buffered = this.#unbuffer(queue, id);
    // tried for a few seconds while Redis is away: shutdown waits for it before closing up
    if (buffered) this.#cancelAhead(buffered);
    // only for its own queues: cancels of other queues' jobs must not push those out
    else if (this.queues.includes(queue)) this.#heardCancels.remember(queue, id);
  }

  /** Stops the worker if it is past its time or memory limit. */
  #checkLimits(): void {
    const exceeded = this.#limits.exceeded();
    if (exceeded) this.stop(exceeded);
  }
}
