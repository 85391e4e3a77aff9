/**
 * One queue of the memory driver: the contract's operations as moves between statuses,
 * step for step what the Redis driver's Lua scripts do (`scripts/*.lua` there), so the
 * two pass one contract suite. {@link QueueState} keeps the structures; this class decides
 * the moves. The clock is read by the driver and passed in: one call, one instant.
 */
import { JobNotFoundError, JobStateError, type TopiqError } from '../../../errors.js';
import type {
  FailedSelection,
  FailResult,
  Failure,
  JobRecord,
  JobStatus,
  Lease,
  ReleaseOutcome,
  LeaseState,
  NewJob,
  PushOutcome,
  QueueCounts,
  ReservedJob,
  ReserveOptions,
  RetriedJob,
  ReserveResult,
  StoredError,
} from '../../driver.js';
import { type QueueLimits, QueueState } from './queue_state.js';
import { MAX_STALLS, RECLAIMS_PER_RESERVE } from '../../driver.js';
import { LATEST_DISPATCH_MS } from '../../dispatch_options.js';
import {
  copyRecord,
  createStoredJob,
  parseStoredJson,
  type StoredJob,
  storedError,
  toReservedJob,
} from './stored_job.js';

/** The error stored on a job whose last allowed try was abandoned by a crashed worker. */
export const leaseExpiredError: Readonly<StoredError> = {
  code: 'E_LEASE_EXPIRED',
  message:
    'the job was abandoned by a worker that stopped renewing its lease (crashed?) on its last allowed try',
};

/** The error stored on a job whose lease ended more than `giveBacks` times before it was known to start. */
function stalledError(stalls: number, giveBacks: number): StoredError {
  return {
    code: 'E_LEASE_EXPIRED',
    message: `the job was abandoned ${stalls} times by workers that stopped renewing its lease (crashed?) before it was known to start; its attempt is given back ${giveBacks} times at most`,
  };
}

/** The error stored on a job that ran before, failed without one, and came due past its expiresAt. */
const lateRetryError: Readonly<StoredError> = {
  code: 'E_JOB_EXPIRED',
  message: 'its expiresAt passed before its next attempt could start',
};

/**
 * Gives back the attempt of a job handed back before it was known to start (or released on
 * shutdown); with no attempt left counted it keeps no start time or worker (as in Redis).
 */
function giveBack(job: StoredJob): void {
  const { record } = job;
  record.attempts = Math.max(0, record.attempts - 1);
  if (record.attempts === 0) {
    record.startedAt = null;
    record.worker = null;
  }
}

/** A job that goes back to waiting after an attempt ran starts its next one from no progress. */
function resetProgress({ record }: StoredJob): void {
  record.progress = 0;
  record.progressMessage = null;
  record.progressData = null;
}

/**
 * Due delayed jobs one `reserve` call moves to waiting at most: the bound `reserve_jobs.lua`
 * puts on the work of one script run. The rest are moved by the next calls.
 */
export const PROMOTIONS_PER_RESERVE = 1000;

/** The `E_JOB_NOT_FOUND` error for job `id` of `queue`. */
export function jobNotFound(queue: string, id: string): TopiqError {
  return new JobNotFoundError(`job ${id} was not found in queue "${queue}" (its record may have expired)`);
}

/** The state of one named queue; the memory driver routes each call to one of these. */
export class MemoryQueue {
  readonly name: string;
  readonly #state: QueueState;
  #wakeNext = false;

  constructor(name: string, limits: QueueLimits) {
    this.name = name;
    this.#state = new QueueState(limits);
  }

  /**
   * Whether the last calls left work a waiting worker should be woken for (a job queued or
   * delayed, or waiting jobs left by a reserve); resets. The driver sends one wake-up per
   * call, as each Redis script signals at most once.
   */
  takeWakeUp(): boolean {
    const arrived = this.#state.takeWorkArrived();
    const wake = this.#wakeNext || arrived;
    this.#wakeNext = false;
    return wake;
  }

  /**
   * Adds a job unless its id is taken, whatever that job's status: `duplicate`, but the status
   * it was added in when the same push (same `pushToken`; a job without one matches its id) added it.
   */
  push(job: NewJob, now: number): PushOutcome {
    const existing = this.#state.find(job.id);
    if (existing) {
      const sameToken = job.pushToken !== undefined && (existing.pushToken ?? job.id) === job.pushToken;
      return sameToken ? existing.addedAs : 'duplicate';
    }
    const stored = createStoredJob(job, now);
    this.#state.insert(stored);
    if (job.hold) this.#state.hold(stored);
    else this.#schedule(stored, now);
    stored.addedAs = stored.record.status as StoredJob['addedAs'];
    return stored.addedAs;
  }

  /**
   * Promotes due delayed jobs, reclaims lapsed leases, then pops `count` waiting jobs and
   * leases those that have not expired (expired ones use up their place, as in Redis). The
   * times it answers are on the driver's clock, `now`'s.
   */
  reserve(options: ReserveOptions, token: string, now: number): ReserveResult {
    const state = this.#state;
    const changed: ReserveResult['changed'] = [];
    const changedTo = (status: 'queued' | 'cancelled', { record }: StoredJob, reclaimed = false): void => {
      changed.push({
        id: record.id,
        name: record.name,
        attempt: record.attempts,
        status,
        ...(reclaimed ? { reclaimed: true as const } : {}),
      });
    };
    // in the order they came due (ties in the order they were delayed), at most
    // PROMOTIONS_PER_RESERVE, as in Redis (which orders ties within each call's 1,000 only)
    for (let promoted = 0; promoted < PROMOTIONS_PER_RESERVE; promoted++) {
      const due = state.promoteDue(now);
      if (!due) break;
      changedTo('queued', due);
    }

    // the jobs this call fails enter the failed set together, at the end (see toFailed)
    const failing: StoredJob[] = [];
    // in the order their leases ended (ties by id), at most RECLAIMS_PER_RESERVE, as in Redis
    for (let reclaimed = 0; reclaimed < RECLAIMS_PER_RESERVE; reclaimed++) {
      const lapsed = state.popLapsed(now);
      if (!lapsed) break;
      const maxTries = lapsed.record.maxTries > 0 ? lapsed.record.maxTries : options.defaultMaxTries;
      const giveBacks = Math.max(MAX_STALLS, maxTries);
      let error: StoredError | undefined;
      if (lapsed.cancelRequested) {
        if (!lapsed.ran) giveBack(lapsed);
        state.finish(lapsed, 'cancelled', now);
        changedTo('cancelled', lapsed);
        continue;
      }
      if (!lapsed.ran) {
        // never known to start under the lease that ended: its attempt is given back
        lapsed.stalls += 1;
        if (lapsed.stalls > giveBacks) error = stalledError(lapsed.stalls, giveBacks);
        else giveBack(lapsed);
      } else if (lapsed.record.attempts >= maxTries) {
        error = { ...leaseExpiredError };
      }
      if (error === undefined) {
        if (lapsed.ran) resetProgress(lapsed);
        state.enqueue(lapsed, now, 'front');
        changedTo('queued', lapsed, true);
      } else {
        lapsed.record.error = error;
        failing.push(lapsed);
      }
    }

    const jobs: ReservedJob[] = [];
    const expired: ReserveResult['expired'] = [];
    for (let popped = 0; popped < options.count; popped++) {
      const job = state.popWaiting();
      if (!job) break;
      if (job.record.expiresAt !== null && job.record.expiresAt <= now) {
        if (job.record.attempts > 0 || job.ranBefore) {
          // an attempt ran already: its retry (or its run again after a stopping worker handed
          // it back) came due too late, so it failed (as in Redis)
          job.record.error ??= { ...lateRetryError };
          failing.push(job);
          continue;
        }
        job.record.error = { code: 'E_JOB_EXPIRED', message: 'the job was not started before its expiresAt' };
        state.finish(job, 'expired', now);
        expired.push({ id: job.record.id, name: job.record.name });
        continue;
      }
      job.record.attempts += 1;
      job.record.startedAt = now;
      job.record.worker = options.worker;
      job.token = token;
      job.ran = false;
      state.run(job, now + options.leaseMs);
      jobs.push(toReservedJob(job, token));
    }
    state.toFailed(failing, now);
    const abandoned = failing.map(copyRecord);
    state.takeWorkArrived(); // promotions and reclaims wake nobody unless they are left over:
    this.#wakeNext = state.hasWaiting; // more work left, so wake another worker
    return { jobs, abandoned, expired, changed, wakeAt: state.wakeAt() };
  }

  /** Renews a lease for `leaseMs` from now, reporting a requested cancel; notes a started job. */
  extend(lease: Lease, leaseMs: number, now: number, started: boolean): LeaseState {
    const job = this.#state.owned(lease);
    if (!job) return 'lost';
    this.#state.renew(job, now + leaseMs);
    if (started) job.ran = job.ranBefore = true;
    return job.cancelRequested ? 'cancel' : 'ok';
  }

  /** Marks the leased job completed with the JSON `result`; false when the lease is lost. */
  complete(lease: Lease, result: string, now: number): boolean {
    const job = this.#state.owned(lease);
    if (!job) return false;
    this.#state.stopRunning(job);
    job.record.result = parseStoredJson(result);
    this.#state.finish(job, 'completed', now);
    return true;
  }

  /** Records a failed attempt: cancelled when requested, failed for good, or retried. */
  fail(failure: Failure, now: number): FailResult {
    const job = this.#state.owned(failure.lease);
    if (!job) return { outcome: 'lost' };
    this.#state.stopRunning(job);
    job.record.error = storedError(failure.error);
    if (job.cancelRequested) {
      this.#state.finish(job, 'cancelled', now);
      return { outcome: 'cancelled' };
    }
    const retryInMs = failure.retryInMs === null ? null : Math.max(0, Math.round(failure.retryInMs));
    // a retry that could not start before the job's expiresAt is none (as in Redis)
    const { expiresAt } = job.record;
    if (retryInMs === null || (expiresAt !== null && now + retryInMs >= expiresAt)) {
      this.#state.toFailed([job], now);
      return { outcome: 'failed' };
    }
    resetProgress(job);
    if (retryInMs === 0) {
      this.#state.enqueue(job, now);
      return { outcome: 'retrying' };
    }
    // at the latest the end of the year 9999, as in Redis
    const runAt = Math.min(now + retryInMs, LATEST_DISPATCH_MS);
    this.#state.delay(job, runAt);
    return { outcome: 'retrying', runAt };
  }

  /**
   * Returns a leased job to the front of its priority without counting the attempt; `started`:
   * its handler had started (it still counts as having run, see `StoredJob.ranBefore`).
   */
  release(lease: Lease, now: number, started = false): ReleaseOutcome {
    const job = this.#state.owned(lease);
    if (!job) return 'lost';
    if (started) job.ranBefore = true;
    this.#state.stopRunning(job);
    if (job.cancelRequested && (started || job.ran)) {
      // Cancelled while it ran (as the caller says, or a renewal or progress report said before),
      // released on shutdown: it must not run again, and its attempt (start, worker, progress)
      // stays, as a reclaim of its lapsed lease would count it.
      this.#state.finish(job, 'cancelled', now);
      return 'cancelled';
    }
    giveBack(job);
    resetProgress(job); // a job released on shutdown may have begun
    if (job.cancelRequested) {
      this.#state.finish(job, 'cancelled', now);
      return 'cancelled';
    }
    this.#state.enqueue(job, now, 'front');
    return 'queued';
  }

  /** Stores the progress of a leased job; false when the lease is lost. */
  progress(lease: Lease, percent: number, message: string | null, data: string | null): boolean {
    const job = this.#state.owned(lease);
    if (!job) return false;
    job.ran = job.ranBefore = true; // a job that reports progress has started
    job.record.progress = percent;
    job.record.progressMessage = message || null; // Redis stores '' as "no message"
    job.record.progressData = data ? parseStoredJson(data) : null;
    return true;
  }

  counts(): QueueCounts {
    return this.#state.counts();
  }

  /** Since when the longest-waiting job has waited (epoch ms), or null when none waits. */
  waitingSince(now: number): number | null {
    return this.#state.waitingSince(now);
  }

  /** Deletes waiting and delayed jobs with their records; returns how many. */
  clear(): number {
    return this.#state.clearScheduled();
  }

  get(id: string): JobRecord | undefined {
    const job = this.#state.find(id);
    return job && copyRecord(job);
  }

  list(status: JobStatus, offset: number, limit: number): JobRecord[] {
    return this.#state.list(status, offset, limit);
  }

  cancel(id: string, now: number): JobStatus {
    const job = this.#existing(id);
    if (job.record.status === 'running') {
      job.cancelRequested = true;
      return 'running';
    }
    if (!this.#state.unschedule(job))
      throw this.#stateError('cancel', job, 'pending, queued, delayed or running');
    this.#state.finish(job, 'cancelled', now);
    return 'cancelled';
  }

  releaseHeld(id: string, now: number): JobStatus {
    const job = this.#existing(id);
    if (job.record.status !== 'pending') throw this.#stateError('release', job, 'pending (created on hold)');
    this.#state.unschedule(job);
    this.#schedule(job, now);
    return job.record.status;
  }

  /**
   * Moves the selected failed jobs back to waiting as if new, but those past their expiresAt
   * (left failed, as in Redis); returns the jobs moved, the ids left and the ids asked for
   * that were no failed job.
   */
  retryFailed(
    selection: FailedSelection,
    now: number,
  ): { moved: RetriedJob[]; expired: string[]; missing: string[] } {
    const pastExpiry = ({ record }: StoredJob) => record.expiresAt !== null && record.expiresAt <= now;
    const { taken: jobs, kept, missing } = this.#state.takeFailed(selection, pastExpiry);
    for (const job of jobs) {
      const { record } = job;
      record.attempts = 0;
      resetProgress(job);
      record.error = null;
      record.finishedAt = null;
      record.runAt = null;
      record.startedAt = null;
      record.worker = null;
      job.cancelRequested = false;
      job.ran = job.ranBefore = false;
      job.stalls = 0;
      this.#state.enqueue(job, now);
    }
    return {
      moved: jobs.map(({ record }) => ({ id: record.id, name: record.name })),
      expired: kept.map(({ record }) => record.id),
      missing,
    };
  }

  /** Deletes the selected failed records; returns how many. */
  removeFailed(selection: FailedSelection): number {
    const { taken: jobs } = this.#state.takeFailed(selection);
    for (const job of jobs) this.#state.forget(job);
    return jobs.length;
  }

  #existing(id: string): StoredJob {
    const job = this.#state.find(id);
    if (!job) throw jobNotFound(this.name, id);
    return job;
  }

  #stateError(action: 'cancel' | 'release', job: StoredJob, allowed: string): TopiqError {
    const { id, status } = job.record;
    return new JobStateError(`cannot ${action} job ${id}: it is ${status}; only ${allowed} jobs can be`);
  }

  /** Queues a job now, or delays it while its runAt is ahead. */
  #schedule(job: StoredJob, now: number): void {
    const { runAt } = job.record;
    if (runAt !== null && runAt > now) this.#state.delay(job, runAt);
    else this.#state.enqueue(job, now);
  }
}
