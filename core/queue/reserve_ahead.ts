/**
 * How many jobs a worker reserves ahead of its free slots. Reserving ahead lets Redis work
 * while jobs run: a slot that frees up takes a job already in hand instead of waiting a
 * round trip. But a job reserved ahead waits for a slot, and no other worker can take it.
 *
 * So the depth follows the work: enough jobs to keep every slot busy for two reserve round
 * trips (two calls may be in flight), from smoothed measurements of how long a job holds a
 * slot and how long a reserve call takes. Short jobs get up to three times the concurrency
 * ahead. None are held before a job has been timed, nor while jobs take over
 * {@link LONG_JOB_ROUND_TRIPS} reserve round trips: a slot then waits one round trip for its
 * next job (under 1% of the job), and a worker that starts first, or stays busy with long
 * jobs, does not keep them from idle workers. A fixed `prefetch` replaces all this.
 */

import { InvalidOptionError } from '../errors.js';

/** Most jobs reserved ahead, as a multiple of the concurrency. */
export const MAX_AHEAD_FACTOR = 3;
/** Jobs longer than this many reserve round trips are not reserved ahead. */
export const LONG_JOB_ROUND_TRIPS = 100;
/** Most jobs a fixed prefetch may hold ahead. */
export const MAX_PREFETCH = 10_000;
/** Whether `value` is a fixed prefetch a worker takes: a whole number from 0 to {@link MAX_PREFETCH}. */
export function isPrefetch(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_PREFETCH;
}

/**
 * Reads a prefetch written as text (`WORKER_PREFETCH`, `--prefetch`): `auto`, undefined (the
 * worker decides), or decimal digits for {@link isPrefetch}; else `E_INVALID_OPTION`.
 */
export function parsePrefetchSetting(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === 'auto') return undefined;
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!isPrefetch(value)) {
    throw new InvalidOptionError(
      `must be auto (the worker decides) or a whole number from 0 to ${MAX_PREFETCH} (e.g. 0); got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** Weight of a new measurement in the moving averages. */
const SMOOTHING = 0.05;

export class ReserveAhead {
  readonly #concurrency: number;
  readonly #fixed: number | undefined;
  /** Smoothed ms from a job's start to its end (how long it holds a slot). */
  #jobMs: number | undefined;
  /** Smoothed ms of a reserve call, from sending it to its answer. */
  #reserveMs: number | undefined;

  /**
   * @param concurrency - the worker's slots
   * @param prefetch - jobs to hold ahead whatever the timings (the worker's `prefetch`);
   *   adaptive when undefined
   */
  constructor(concurrency: number, prefetch?: number) {
    this.#concurrency = concurrency;
    this.#fixed = prefetch;
  }

  /** Records that a job held its slot for `ms`. */
  jobFinished(ms: number): void {
    this.#jobMs = smoothed(this.#jobMs, ms);
  }

  /** Records that a reserve call took `ms`. */
  reserveAnswered(ms: number): void {
    this.#reserveMs = smoothed(this.#reserveMs, ms);
  }

  /**
   * Whether jobs have been timed far longer than the point where none are held ahead (twice
   * {@link LONG_JOB_ROUND_TRIPS} round trips, so a worker whose jobs sit near that point does
   * not hand back and take again on every job); never with a fixed prefetch. A worker then
   * hands back the jobs it still holds ahead.
   */
  get jobsLong(): boolean {
    return this.#fixed === undefined && this.#longerThan(2 * LONG_JOB_ROUND_TRIPS);
  }

  /**
   * Jobs to hold beyond the running ones: the fixed prefetch when one was given. Otherwise
   * none until a job and a reserve call have been timed, none while jobs take over
   * {@link LONG_JOB_ROUND_TRIPS} round trips, else the jobs all slots get through in two
   * reserve round trips (rounded up), at most {@link MAX_AHEAD_FACTOR} per slot.
   */
  get depth(): number {
    if (this.#fixed !== undefined) return this.#fixed;
    if (this.#jobMs === undefined || this.#reserveMs === undefined) return 0;
    if (this.#longerThan(LONG_JOB_ROUND_TRIPS)) return 0;
    const perSlot = (2 * this.#reserveMs) / Math.max(this.#jobMs, 0.001);
    return Math.ceil(this.#concurrency * Math.min(MAX_AHEAD_FACTOR, perSlot));
  }

  /** Whether jobs, as timed so far, take longer than `roundTrips` reserve calls (false untimed). */
  #longerThan(roundTrips: number): boolean {
    if (this.#jobMs === undefined || this.#reserveMs === undefined) return false;
    return this.#jobMs > roundTrips * this.#reserveMs;
  }
}

/** The moving average after `sample`; the first sample starts it. */
function smoothed(average: number | undefined, sample: number): number {
  return average === undefined ? sample : average + (sample - average) * SMOOTHING;
}
