/**
 * The seam between the `rateLimit` middleware and where hits are counted: a
 * {@link RateLimiter} has one method, `hit`. Two implementations keep the same
 * sliding-window-log semantics: `RedisRateLimiter` (shared by every process, one atomic
 * Lua script per hit) and `MemoryRateLimiter` (one process, tests and development).
 *
 * Semantics, kept by both: a hit is allowed when fewer than `limit` allowed hits of the
 * same key happened in the last `windowMs` milliseconds (a hit exactly `windowMs` old no
 * longer counts). Refused hits are not recorded, so a device that keeps publishing while
 * limited gets its capacity back as its old hits age out, and a key never holds more than
 * `limit` entries.
 */
import { InvalidOptionError } from '../../errors.js';

/** What one hit was told. */
export interface RateLimitResult {
  /** True when the hit was within the limit (and was counted). */
  readonly allowed: boolean;
  /** How many more hits the window allows right now (0 when refused). */
  readonly remaining: number;
  /** When refused, milliseconds until the next hit would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
}

/**
 * Counts hits per key in a sliding window.
 *
 * @example
 * const limiter: RateLimiter = new MemoryRateLimiter();
 * const { allowed, retryAfterMs } = await limiter.hit('device-42', 10, 1_000);
 */
export interface RateLimiter {
  /**
   * Records a hit on `key` when it is within `limit` hits per `windowMs`. Any non-empty
   * key is accepted: implementations never put unchecked text into a storage key.
   * Throws `E_INVALID_OPTION` for an empty key or a limit or window that is not a
   * positive integer.
   */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
}

/** Throws `E_INVALID_OPTION` unless `limit` and `windowMs` are positive safe integers. */
export function checkRateLimitSettings(limit: number, windowMs: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidOptionError(`rate limit ${limit} must be a positive integer (hits per window)`);
  }
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new InvalidOptionError(`rate limit window ${windowMs} must be a positive integer of milliseconds`);
  }
}

/** Throws `E_INVALID_OPTION` for what no limiter accepts: an empty or non-string key, bad settings. */
export function checkHit(key: string, limit: number, windowMs: number): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidOptionError('rate limit key must be a non-empty string');
  }
  checkRateLimitSettings(limit, windowMs);
}
