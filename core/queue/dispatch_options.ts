/** Options accepted by every dispatch call. */

/** Per-dispatch options; each overrides the job class's setting. */
export interface DispatchOptions {
  /** Queue to put the job in. */
  queue?: string;
  /** Lower runs first, FIFO among equals; integer in [-1000, 1000]. */
  priority?: number;
  /** Seconds to wait before the job may run. */
  delay?: number;
  /** When the job may run (a Date or epoch ms); overrides `delay`, which is checked all the same. */
  runAt?: Date | number;
  /** If the job has not started by then it is marked `expired` and never runs. */
  expiresAt?: Date | number;
  /** Tries for this job, 1 to {@link MAX_TRIES} (overrides the class's `maxTries`). */
  maxTries?: number;
  /**
   * Your own id, unique in its queue: dispatching an id that already exists in that queue adds
   * nothing (idempotent). One `dispatchMany` call refuses it on two jobs of one queue.
   */
  jobId?: string;
  /** Create the job on hold (`pending`) until released with `release(id)`. */
  hold?: boolean;
  /**
   * Who the job is for: a device id, an account or a tenant (1-128 characters, no control or
   * invisible characters). Stored on the record; `job:list --owner` finds the jobs of one owner.
   */
  owner?: string;
  /** What the job does, in words (1-500 characters, no control or invisible characters or line breaks). */
  description?: string;
}

/**
 * The latest time a dispatch may name: 9999-12-31T23:59:59.999Z. Anything later is a slip
 * (a unit mistake, a runaway delay), and could not be shown as an ISO time.
 */
export const LATEST_DISPATCH_MS = 253_402_300_799_999;

/**
 * The most tries a job may have (its `maxTries`, given at dispatch or by its class). More is
 * a slip, not a plan: at one try a second it is eleven days of retrying.
 */
export const MAX_TRIES = 1_000_000;

/**
 * The job's `expiresAt` and the earliest time it may run (its `runAt`, else now plus its
 * `delay`, and never before now) when it expires before it may run, else undefined. Code may dispatch an expired
 * job on purpose (it ends `expired`, for all to see); the command line and the MQTT command
 * topic refuse one, as a likely slip (seconds for milliseconds, a wrong date).
 */
export function expiresBeforeStart(
  options: DispatchOptions,
  now = Date.now(),
): { expiresAt: number; earliest: number } | undefined {
  if (options.expiresAt == null) return undefined;
  const expiresAt = epochMs(options.expiresAt);
  // a run time already past means now: a job due in 1970 still cannot start before it is stored
  const earliest = Math.max(
    now,
    options.runAt != null ? epochMs(options.runAt) : delayedRunAt(options.delay ?? 0, now),
  );
  // a run time out of range is the dispatcher's to refuse, with its own message
  if (!(earliest <= LATEST_DISPATCH_MS)) return undefined;
  return expiresAt <= earliest ? { expiresAt, earliest } : undefined;
}

/** When a job delayed `delaySeconds` from `now` may run, in epoch ms (past the year 9999 for a slip). */
export function delayedRunAt(delaySeconds: number, now = Date.now()): number {
  return now + Math.round(delaySeconds * 1000);
}

/** A `Date` or epoch ms as epoch ms; NaN for anything else untyped code passed (a date string). */
export function epochMs(time: Date | number): number {
  if (typeof time === 'number') return time;
  return time instanceof Date ? time.getTime() : Number.NaN;
}
