/**
 * Which rate-limited messages go to the dead-letter store. A rate limit protects the backend
 * from a device that sends too much; storing every refused message would cost Redis a write
 * each (as much as the work refused) and push every other dead letter out of the bounded
 * store. So per route, limit and rate-limit key, the first refused message of a burst is stored and the
 * rest are counted, until the key may send again (at least a second later): the next stored
 * one says how many were left out meanwhile. Keys past 128 characters (a rate-limit key
 * can hold a 64 KB topic level a device chose) are held as their SHA-1, so the 10,000 keys
 * held cost kilobytes each at most, not 10,000 times what devices sent.
 */
import { heldKey } from './middleware/rate_limiter.js';

/** Keys remembered at most; past it the one refused longest ago is forgotten (with its count). */
const MAX_KEYS = 10_000;
/** Shortest quiet time after a stored rate-limited message of one key. */
const MIN_QUIET_MS = 1000;

/** What to do with one rate-limited message. */
export type BurstDecision = { store: true; leftOut: number } | { store: false };

export class RateLimitedBursts {
  readonly #keys = new Map<string, { until: number; leftOut: number }>();

  /**
   * Decides for a message refused for `key`, which may send again in `retryAfterMs`: store it
   * (with how many of its key were left out since the last one stored) or count it.
   */
  refused(fullKey: string, retryAfterMs: number, now: number): BurstDecision {
    const key = heldKey(fullKey);
    const entry = this.#keys.get(key);
    // moved to the end: the map's order is the order keys were last refused, so a key still
    // flooding is never the one forgotten
    this.#keys.delete(key);
    if (entry && now < entry.until) {
      entry.leftOut++;
      this.#keys.set(key, entry);
      return { store: false };
    }
    this.#keys.set(key, { until: now + Math.max(MIN_QUIET_MS, retryAfterMs), leftOut: 0 });
    if (this.#keys.size > MAX_KEYS) this.#keys.delete(this.#keys.keys().next().value!);
    return { store: true, leftOut: entry?.leftOut ?? 0 };
  }

  /** The keys held, as held (for tests). */
  heldKeys(): string[] {
    return [...this.#keys.keys()];
  }
}
