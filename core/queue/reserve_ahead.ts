/**
 * How many jobs a worker reserves ahead of its free slots. Reserving ahead lets Redis work
 * while jobs run: a slot that frees up takes a job already in hand instead of waiting a
 * round trip. But a job reserved ahead waits for a slot, and no other worker can take it.
 *
 * So the depth follows the work: enough jobs to keep every slot busy for two reserve round
 * trips (two calls may be in flight), from smoothed measurements of how long a job holds a
 * slot and how long a reserve call takes. Short jobs get up to three times the concurrency
 * ahead; jobs much longer than a round trip get almost none, so a worker busy with
 * ten-second jobs does not hoard the queue from idle workers.
 */

/** Most jobs reserved ahead, as a multiple of the concurrency. */
export const MAX_AHEAD_FACTOR = 3;
/** Weight of a new measurement in the moving averages. */
const SMOOTHING = 0.05;

export class ReserveAhead {
  readonly #concurrency: number;
  /** Smoothed ms from a job's start to its end (how long it holds a slot). */
  #jobMs: number | undefined;
  /** Smoothed ms of a reserve call, from sending it to its answer. */
  #reserveMs: number | undefined;

  constructor(concurrency: number) {
    this.#concurrency = concurrency;
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
   * Jobs to hold beyond the running ones. Before anything is measured: one per slot. After:
   * the jobs all slots get through in two reserve round trips, at most
   * {@link MAX_AHEAD_FACTOR} per slot.
   */
  get depth(): number {
    if (this.#jobMs === undefined || this.#reserveMs === undefined) return this.#concurrency;
    const perSlot = (2 * this.#reserveMs) / Math.max(this.#jobMs, 0.001);
    return Math.ceil(this.#concurrency * Math.min(MAX_AHEAD_FACTOR, perSlot));
  }
}

/** The moving average after `sample`; the first sample starts it. */
function smoothed(average: number | undefined, sample: number): number {
  return average === undefined ? sample : average + (sample - average) * SMOOTHING;
}
