/**
 * Keeps the leases of what a worker holds: renews them every third of the lease (the jobs it
 * runs, those reserved ahead, those it could not hand back yet), reports the jobs it started
 * soon after they start, and aborts a running job whose lease says it was lost or cancelled.
 */
import { JobCancelledError, LeaseLostError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChurnMap } from '../support/churn_map.js';
import type { Lease, LeaseState, QueueDriver, ReservedJob } from './driver.js';
import type { RunningJob } from './job_runner.js';

/**
 * How soon after a job starts, at most, the worker tells the driver it runs (if it still does),
 * so that a crash afterwards counts its attempt rather than giving it back (`MAX_STALLS`).
 */
export const START_REPORT_MS = 1000;

/** The lease a reserved job is held under. */
export function leaseOf(job: ReservedJob): Lease {
  return { id: job.id, queue: job.queue, token: job.token };
}

/** What a worker holds under lease (read at each renewal), and what it does when a lease ends. */
export interface HeldJobs {
  /** The jobs running now. */
  readonly running: ChurnMap<string, RunningJob>;
  /** Jobs reserved ahead of a free slot. */
  readonly ready: readonly ReservedJob[];
  /** Reserved-ahead jobs past their `expiresAt` whose hand-back failed (see `HandBacks.unreleased`). */
  readonly unreleased: ReservedJob[];
  /** Tries again to hand back an `unreleased` job, taken out of it, that is still leased to the worker. */
  releaseAgain(job: ReservedJob): void;
  /** A job reserved ahead whose renewal did not answer `ok`: `lost`, `cancel`, or nothing. */
  aheadLeaseEnded(job: ReservedJob, state: LeaseState | undefined): void;
}

export class LeaseKeeper {
  readonly #driver: QueueDriver;
  readonly #log: Logger;
  readonly #leaseMs: number;
  readonly #held: HeldJobs;
  /** Running jobs a lease renewal or a start report has told the driver about. */
  readonly #reported = new WeakSet<RunningJob>();
  /** Reports the jobs started in the last {@link START_REPORT_MS} (see #reportStarts). */
  #startReport: NodeJS.Timeout | undefined;
  /** Until when (performance.now() ms) each job held reserved ahead is known to be leased. */
  readonly #heldUntil = new WeakMap<ReservedJob, number>();

  constructor(driver: QueueDriver, log: Logger, leaseMs: number, held: HeldJobs) {
    this.#driver = driver;
    this.#log = log;
    this.#leaseMs = leaseMs;
    this.#held = held;
  }

  /** A job started: its start is reported within {@link START_REPORT_MS} if it still runs. */
  jobStarted(): void {
    if (this.#startReport === undefined) {
      this.#startReport = setTimeout(() => {
        this.#startReport = undefined;
        void this.#reportStarts();
      }, START_REPORT_MS);
      this.#startReport.unref();
    }
  }

  /** `jobs` were leased by a reserve call sent at `sentAt` (performance.now() ms). */
  reserved(jobs: readonly ReservedJob[], sentAt: number): void {
    const until = sentAt + this.#leaseMs;
    for (const job of jobs) this.#heldUntil.set(job, until);
  }

  /**
   * Whether a job held reserved ahead may start here: its lease, as last confirmed (by its
   * reserve or a renewal that answered `ok`), still has a third of its length to run. A lease
   * renewed every third of its length has two thirds left; one that no renewal could reach for
   * longer (Redis away, or the event loop blocked) may have lapsed, and another worker may have
   * taken the job back and run it, or ended it cancelled: it must not run here too.
   */
  mayStart(job: ReservedJob): boolean {
    const until = this.#heldUntil.get(job);
    return until === undefined || performance.now() < until - this.#leaseMs / 3;
  }

  /** Cancels the start report due, if any (the worker stopped). */
  stop(): void {
    clearTimeout(this.#startReport);
  }

  /** Renews the leases of all the worker holds, and acts on what the renewal answered. */
  async renew(): Promise<void> {
    // the running ones not reported started yet first: extend marks only those (see #reportStarts)
    const all = this.#held.running.values();
    const fresh = all.filter((entry) => !this.#reported.has(entry));
    const running = [...fresh, ...all.filter((entry) => this.#reported.has(entry))];
    const buffered = [...this.#held.ready];
    // copied, not taken: a shutdown meanwhile hands them back itself (drainWorker)
    const unreleased = [...this.#held.unreleased];
    if (running.length === 0 && buffered.length === 0 && unreleased.length === 0) return;
    const sentAt = performance.now();
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
        const at = this.#held.unreleased.indexOf(job);
        if (at < 0) return;
        this.#held.unreleased.splice(at, 1);
        if (states[running.length + buffered.length + index] !== 'lost') this.#held.releaseAgain(job);
      });
      buffered.forEach((job, index) => {
        const state = states[running.length + index];
        if (state === 'ok') this.#heldUntil.set(job, sentAt + this.#leaseMs);
        else this.#held.aheadLeaseEnded(job, state);
      });
      this.#settleRunning(running, states);
    } catch (error) {
      this.#log.error({ event: 'worker.renew_failed', err: error }, 'could not renew leases; retrying');
    }
  }

  /**
   * Checks a running job whose cancel was broadcast. A broadcast is a hint: anyone may PUBLISH,
   * and a late one may name a job id used again since. The job's lease says whether its cancel
   * was requested; a renewal of it aborts the job if so (a lost lease too). While Redis cannot
   * answer, the next renewal tells.
   */
  checkCancel(running: RunningJob): void {
    this.#driver.extend([running.lease], this.#leaseMs, { started: 1 }).then(
      (states) => this.#settleRunning([running], states),
      (error: unknown) =>
        this.#log.warn(
          { event: 'job.cancel_check_failed', err: error, jobId: running.job.id, queue: running.job.queue },
          'could not check a cancel request; the next lease renewal does',
        ),
    );
  }

  /**
   * Tells the driver which jobs started since the last renewal or report and still run, so
   * that if this worker dies their attempts count (a lease that ends on a job never known to
   * start gives its attempt back: `MAX_STALLS`). Runs {@link START_REPORT_MS} after the first
   * start in a while, so only jobs that run that long cost a call, one per report; the lease
   * renewal (every third of the lease) reports the rest.
   */
  async #reportStarts(): Promise<void> {
    const fresh = this.#held.running.values().filter((running) => !this.#reported.has(running));
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
}
