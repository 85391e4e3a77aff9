/**
 * Keeps the leases of what a worker holds: renews them every third of the lease (the jobs it
 * runs, those reserved ahead, those it could not hand back yet), reports the jobs it started
 * soon after they start, and aborts a running job whose lease says it was lost or cancelled, or
 * may lapse because no renewal has reached Redis for most of its length.
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

/**
 * The share of its lease after which, with no renewal answered since, a running job is aborted
 * (`E_LEASE_LOST`): its lease may lapse soon after, and another worker take the job back and run
 * it. The rest of the lease (5 s of the default 30 s) is the handler's time to stop.
 */
export const LAPSE_SHARE = 5 / 6;

/**
 * How long, at most, the lapse check waits for the answer to a renewal sent a moment before it
 * (a tenth of the lease when less): after the event loop was blocked, the renewal timer runs
 * first and sends one, which may yet keep the leases.
 */
const LATE_ANSWER_MS = 1000;

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
  /**
   * The leases of jobs that finished and wait for their acknowledgement (`AckBuffer.leases`):
   * renewed, so a completion held back (a key of its queue replaced by hand, refused until it is
   * mended) does not lapse and run its job again while the worker lives.
   */
  acknowledging(): readonly Lease[];
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
  /**
   * Since when (performance.now() ms), at the earliest, the lease of every job held reserved ahead
   * is known to run, kept in three parts so that no job costs anything: for the jobs the last
   * renewal that answered covered (when it was sent), for those the renewal in flight covers, and
   * for those reserved since (the earliest send time of their reserve calls). Infinity: none.
   */
  #renewedSince = Number.POSITIVE_INFINITY;
  #renewingSince = Number.POSITIVE_INFINITY;
  #reservedSince = Number.POSITIVE_INFINITY;
  /** When the renewal in flight was sent (performance.now() ms); -Infinity: none. */
  #renewalSentAt = Number.NEGATIVE_INFINITY;
  #renewing: Promise<void> | undefined;
  /** Asked for while one was in flight: another renewal follows it. */
  #again = false;
  /** What `#confirmHeld` was given, until a renewal answers. */
  #confirmed: (() => void) | undefined;
  /** Fires when the oldest confirmation reaches {@link LAPSE_SHARE} of the lease (see #checkLapse). */
  #lapseCheck: NodeJS.Timeout | undefined;
  /** The worker stopped: no more lapse checks. */
  #stopped = false;

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

  /** A reserve call sent at `sentAt` (performance.now() ms) answered with jobs. */
  reserved(sentAt: number): void {
    if (sentAt < this.#reservedSince) this.#reservedSince = sentAt;
    this.#armLapseCheck();
  }

  /**
   * Since when (performance.now() ms), at the earliest, the lease of every job the worker holds
   * (running, reserved ahead, not handed back yet) is known to run: the send time of the last
   * renewal that answered, or of a reserve answered since that it did not cover. Infinity: none.
   */
  #confirmedSince(): number {
    return Math.min(this.#renewedSince, this.#renewingSince, this.#reservedSince);
  }

  /**
   * Whether the jobs held reserved ahead may start here at `now` (performance.now() ms): their
   * leases, as last confirmed (by their reserve, or a renewal that answered), still have a third
   * of their length to run. Renewed every third of their length, they have two thirds left; when
   * no renewal could reach Redis for longer (Redis away, or the event loop blocked), a lease may
   * have lapsed, and another worker may have taken the job back and run it, or ended it
   * cancelled: it must not run here too. Judged for all of them at once, by the oldest. When
   * they may not, they wait for a renewal (see `#confirmHeld`), then `retry` is called:
   * those it renewed start, those it found lost have left the buffer.
   */
  mayStart(now: number, retry: () => void): boolean {
    if (now < this.#confirmedSince() + (this.#leaseMs * 2) / 3) return true;
    if (this.#confirmHeld(retry)) {
      this.#log.warn(
        { event: 'worker.ahead_lease_unconfirmed', jobs: this.#held.ready.length },
        'jobs held ahead wait for a lease renewal before they start: none reached Redis for two thirds of the lease',
      );
    }
    return false;
  }

  /** Cancels the start report due, if any, and the lapse check (the worker stopped). */
  stop(): void {
    clearTimeout(this.#startReport);
    this.#stopped = true;
    clearTimeout(this.#lapseCheck);
    this.#lapseCheck = undefined;
  }

  /** Sets the lapse check for when the oldest confirmation reaches {@link LAPSE_SHARE} of the lease. */
  #armLapseCheck(at?: number): void {
    // first what costs nothing: on the reserve path a check is mostly armed already
    if (this.#stopped || this.#lapseCheck !== undefined) return;
    at ??= this.#confirmedSince() + this.#leaseMs * LAPSE_SHARE;
    if (at === Number.POSITIVE_INFINITY) return;
    this.#lapseCheck = setTimeout(
      () => {
        // after the I/O poll: answers that came while the event loop was blocked are read first
        setImmediate(() => {
          this.#lapseCheck = undefined;
          if (!this.#stopped) this.#checkLapse();
        });
      },
      Math.max(0, at - performance.now()),
    );
    this.#lapseCheck.unref();
  }

  /**
   * Aborts the running jobs (`E_LEASE_LOST`) when no renewal has reached Redis for
   * {@link LAPSE_SHARE} of their lease: the worker is cut off (a link that drops packets and never
   * closes, where a renewal neither answers nor fails), or its event loop was blocked. Redis ends
   * a lease a lease's length after the renewal that set it ran, so another worker may soon take
   * the job back and run it; a handler that honours its signal stops here first. Its outcome is
   * not recorded: the job runs again where it is taken back. Jobs held ahead do not start meanwhile
   * ({@link mayStart}). Otherwise it sets itself again for the next bound.
   */
  #checkLapse(): void {
    const since = this.#confirmedSince();
    if (since === Number.POSITIVE_INFINITY) return;
    const now = performance.now();
    const silentMs = now - since;
    if (silentMs < this.#leaseMs * LAPSE_SHARE) {
      this.#armLapseCheck();
      return;
    }
    // a renewal sent a moment ago (the event loop was blocked, and the renewal timer ran first)
    // may yet answer before the leases lapse: its answer decides
    const lateBy = this.#renewalSentAt + Math.min(LATE_ANSWER_MS, this.#leaseMs / 10);
    if (now < lateBy) {
      this.#armLapseCheck(lateBy);
      return;
    }
    // a run whose failure is recorded is off its lease already, running its failed() hook
    const running = this.#held.running
      .values()
      .filter((entry) => !entry.controller.signal.aborted && !entry.failureRecorded);
    if (running.length === 0) return;
    this.#log.warn(
      {
        event: 'worker.lease_unconfirmed',
        jobIds: running.map(({ job }) => job.id),
        silentMs: Math.round(silentMs),
      },
      'aborting running jobs: no lease renewal reached Redis for most of the lease, which may lapse and let another worker run them',
    );
    for (const { controller, job } of running) {
      controller.abort(
        new LeaseLostError(
          `job ${job.id} stopped: no lease renewal reached Redis for ${Math.round(silentMs)} ms of its ${this.#leaseMs} ms lease, so another worker may take it back`,
        ),
      );
    }
  }

  /**
   * Renews the leases now, unless a renewal is in flight, and calls `then` once a renewal
   * answers: for jobs held ahead that {@link mayStart} holds back, which then start, or have left
   * the buffer if it found their lease lost. Returns false when such a wait is under way already.
   */
  #confirmHeld(then: () => void): boolean {
    if (this.#confirmed) return false;
    // called once a renewal answers: one that fails (Redis away) leaves it to the next, on the
    // renewal timer, rather than trying again at once
    this.#confirmed = then;
    // one in flight may have been sent before some of them were reserved: one more after it
    void this.renew();
    return true;
  }

  /**
   * Renews the leases of all the worker holds, and acts on what the renewal answered. One
   * renewal at a time: called while one is in flight, another follows it (the bound that
   * {@link mayStart} keeps holds only for renewals in order).
   */
  renew(): Promise<void> {
    if (this.#renewing) {
      this.#again = true;
      return this.#renewing;
    }
    const renewing = (async () => {
      try {
        do {
          this.#again = false;
          if (await this.#renew()) this.#answered();
        } while (this.#again);
      } finally {
        this.#renewing = undefined;
      }
    })();
    this.#renewing = renewing;
    return renewing;
  }

  /**
   * Renews the leases of jobs waiting for their acknowledgement, in a call apart from the
   * renewal of what the worker holds: their answers change nothing, and a failure of theirs
   * must not count as one of that renewal. (A queue whose keys were replaced by hand, which may
   * be why its completions wait, has its leases answered lost by the driver, the other queues'
   * renewed.) A failure is logged at debug only: the acknowledgement's retries log the outage.
   */
  async #renewAcknowledging(leases: readonly Lease[]): Promise<void> {
    try {
      await this.#driver.extend(leases, this.#leaseMs, { started: 0 });
    } catch (error) {
      this.#log.debug(
        { event: 'worker.acknowledging_renew_failed', err: error },
        'could not renew the leases of completions waiting for their acknowledgement',
      );
    }
  }

  /** One renewal; true when it was answered (or there was nothing to renew). */
  async #renew(): Promise<boolean> {
    // the running ones not reported started yet first: extend marks only those (see #reportStarts)
    const all = this.#held.running.values();
    const fresh = all.filter((entry) => !this.#reported.has(entry));
    const running = [...fresh, ...all.filter((entry) => this.#reported.has(entry))];
    const buffered = [...this.#held.ready];
    // copied, not taken: a shutdown meanwhile hands them back itself (drainWorker)
    const unreleased = [...this.#held.unreleased];
    // renewed beside, not watched: no reason to judge lapses, nor to fail the renewal below
    const acknowledging = this.#held.acknowledging();
    const acknowledgingRenewed =
      acknowledging.length > 0 ? this.#renewAcknowledging(acknowledging) : undefined;
    if (running.length === 0 && buffered.length === 0 && unreleased.length === 0) {
      // nothing held: nothing to judge until the next reserve
      this.#renewedSince = Number.POSITIVE_INFINITY;
      this.#reservedSince = Number.POSITIVE_INFINITY;
      await acknowledgingRenewed;
      return true;
    }
    const sentAt = performance.now();
    this.#renewalSentAt = sentAt;
    // the jobs held now go with this renewal; those reserved from now on are judged apart
    const covered = Math.min(this.#renewedSince, this.#renewingSince, this.#reservedSince);
    this.#renewingSince = covered;
    this.#reservedSince = Number.POSITIVE_INFINITY;
    let answered = false;
    try {
      // started and not reported yet: their attempts count if this worker dies from now on
      const states = await this.#driver.extend(
        [...running.map((entry) => entry.lease), ...[...buffered, ...unreleased].map(leaseOf)],
        this.#leaseMs,
        { started: fresh.length },
      );
      answered = true;
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
        if (state !== 'ok') this.#held.aheadLeaseEnded(job, state);
      });
      this.#settleRunning(running, states);
    } catch (error) {
      this.#log.error({ event: 'worker.renew_failed', err: error }, 'could not renew leases; retrying');
    } finally {
      // answered: what it covered runs from when it was sent (those it found lost left the buffer)
      this.#renewedSince = answered ? sentAt : covered;
      this.#renewingSince = Number.POSITIVE_INFINITY;
      this.#renewalSentAt = Number.NEGATIVE_INFINITY;
      this.#armLapseCheck();
    }
    await acknowledgingRenewed;
    return answered;
  }

  /** Calls what `#confirmHeld` was given, once. */
  #answered(): void {
    const confirmed = this.#confirmed;
    this.#confirmed = undefined;
    confirmed?.();
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
