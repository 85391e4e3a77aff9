/**
 * Cancel broadcasts a worker heard for jobs it did not hold. A reserve that leased a job may
 * still be answering when its cancel is broadcast (the reply and the broadcast come over two
 * connections), and a job shorter than the first lease check would otherwise run to its end
 * though its cancel came before it started: the worker keeps such cancels here and hands back
 * a job a reserve then brings. At most {@link MAX_HEARD_CANCELS} are kept, the oldest heard
 * forgotten first, each for {@link HEARD_CANCEL_MS}.
 */

/** Most cancel broadcasts for jobs not held that a worker remembers. */
export const MAX_HEARD_CANCELS = 1000;
/** How long a worker remembers a cancel broadcast for a job it did not hold. */
export const HEARD_CANCEL_MS = 30_000;

export class HeardCancels {
  /** By `queue\nid`, when heard; in the order heard (a cancel heard again moves to the end). */
  readonly #heard = new Map<string, number>();
  readonly #now: () => number;

  /** @param now - a monotonic clock in ms (default `performance.now`) */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** How many are kept (some may be past their time until the next {@link take}). */
  get size(): number {
    return this.#heard.size;
  }

  /** Remembers the cancel of job `id` of `queue`. */
  remember(queue: string, id: string): void {
    const key = `${queue}\n${id}`;
    this.#heard.delete(key);
    this.#heard.set(key, this.#now());
    if (this.#heard.size > MAX_HEARD_CANCELS) this.#heard.delete(this.#heard.keys().next().value!);
  }

  /** Whether a cancel of job `id` of `queue` was heard in the last {@link HEARD_CANCEL_MS}; forgets it. */
  take(queue: string, id: string): boolean {
    const oldest = this.#now() - HEARD_CANCEL_MS;
    for (const [key, heardAt] of this.#heard) {
      if (heardAt >= oldest) break;
      this.#heard.delete(key);
    }
    return this.#heard.delete(`${queue}\n${id}`);
  }

  /**
   * The reserved `jobs` but those a cancel was heard for, each given to `cancelled` instead: a
   * worker hands those back at once, as it does a reserved-ahead job whose cancel comes in (see
   * HandBacks.cancel), so one whose cancel was requested ends `cancelled` without starting. A
   * stale or forged broadcast costs that job a trip back to the front of its queue.
   */
  sift<T extends { queue: string; id: string }>(jobs: T[], cancelled: (job: T) => void): T[] {
    if (this.#heard.size === 0) return jobs;
    const kept: T[] = [];
    for (const job of jobs) {
      if (this.take(job.queue, job.id)) cancelled(job);
      else kept.push(job);
    }
    return kept;
  }
}
