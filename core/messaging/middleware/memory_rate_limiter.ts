/**
 * Sliding-window rate limiting in process memory: for one process (development, tests,
 * a single gateway). Same semantics as `RedisRateLimiter`; see `rate_limiter.ts`. A key past
 * 128 characters is held as its SHA-1 ({@link heldKey}), so a device that puts a 60 KB topic
 * level or payload field in its key costs 45 characters until the sweep, not 60 KB.
 */
import { checkHit, heldKey, type RateLimiter, type RateLimitResult } from './rate_limiter.js';

/** Options for {@link MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions {
  /** The clock, in milliseconds (tests pass a fake one). Default `Date.now`. */
  now?: () => number;
}

interface Window {
  /** Times of the allowed hits still in the window, oldest first. */
  hits: number[];
  /** The budget's window: part of its identity, never changed. */
  readonly windowMs: number;
}

// Keys of devices that went quiet are dropped by a sweep every this many hits, so the
// map does not grow with every device ever seen.
const SWEEP_EVERY = 1_000;

/**
 * Counts hits per key and window in memory.
 *
 * @example
 * const limiter = new MemoryRateLimiter();
 * await limiter.hit('d1', 2, 1_000); // { allowed: true, remaining: 1, retryAfterMs: 0 }
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();
  #hitsSinceSweep = 0;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    checkHit(key, limit, windowMs);
    const now = this.#now();
    if (++this.#hitsSinceSweep >= SWEEP_EVERY) this.#sweep(now);
    // one budget per key and window, as in Redis: a window of digits ends at the first ':'
    const budget = `${windowMs}:${heldKey(key)}`;
    let window = this.#windows.get(budget);
    if (!window) {
      window = { hits: [], windowMs };
      this.#windows.set(budget, window);
    }
    const { hits } = window;
    let expired = 0;
    while (expired < hits.length && hits[expired]! <= now - windowMs) expired++;
    hits.splice(0, expired);
    if (hits.length < limit) {
      hits.push(now);
      return { allowed: true, remaining: limit - hits.length, retryAfterMs: 0 };
    }
    // The hit whose expiry brings the count below the limit (the oldest, unless the
    // limit was lowered since the key's hits were counted).
    const freeing = hits[hits.length - limit]!;
    return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(freeing + windowMs - now)) };
  }

  /** How many budgets (key and window) are held (for tests and metrics). */
  get size(): number {
    return this.#windows.size;
  }

  /** The budgets held, as held: `<windowMs>:<key as held>` (for tests). */
  heldKeys(): string[] {
    return [...this.#windows.keys()];
  }

  #sweep(now: number): void {
    this.#hitsSinceSweep = 0;
    for (const [budget, window] of this.#windows) {
      const newest = window.hits[window.hits.length - 1];
      if (newest === undefined || newest <= now - window.windowMs) this.#windows.delete(budget);
    }
  }
}
