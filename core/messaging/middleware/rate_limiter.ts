/**
 * The seam between the `rateLimit` middleware and where hits are counted: a
 * {@link RateLimiter} has one method, `hit`. Two implementations keep the same
 * sliding-window-log semantics: `RedisRateLimiter` (shared by every process, one atomic
 * Lua script per hit) and `MemoryRateLimiter` (one process, tests and development).
 *
 * Semantics, kept by both: a budget is a key and a window. A hit is allowed when fewer
 * than `limit` allowed hits of the same key and `windowMs` happened in the last `windowMs`
 * milliseconds (a hit exactly `windowMs` old no longer counts). Hits with another window
 * are another budget, even on the same key, so a short window never trims or expires a
 * long one's hits. Refused hits are not recorded, so a device that keeps publishing while
 * limited gets its capacity back as its old hits age out, and a budget never holds more
 * than `limit` entries.
 */
import { createHash } from 'node:crypto';
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
   * Records a hit on `key` when it is within `limit` hits per `windowMs` (the budget of
   * `key` and `windowMs`: hits with another window do not count). Any non-empty key is accepted: implementations never put unchecked text into a storage key.
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

/** Longest key {@link heldKey} keeps as it is. */
const MAX_HELD_KEY_LENGTH = 128;

/** The SHA-1 of `key`, in hex: how a key that cannot be stored as it is goes in. */
export function keyDigest(key: string): string {
  return createHash('sha1').update(key, 'utf8').digest('hex');
}

/**
 * `key` as held in memory or carried in an error: as it is when at most
 * {@link MAX_HELD_KEY_LENGTH} characters, else `sha1:<40 hex digits>`, so a device that
 * chose a 64 KB topic level costs 45 characters wherever its key is kept. A short key that
 * itself starts with `sha1:` is hashed too, so it cannot pose as a long one.
 *
 * @example
 * heldKey('device:d1');          // 'device:d1'
 * heldKey('x'.repeat(60_000));   // 'sha1:<40 hex digits>'
 */
export function heldKey(key: string): string {
  if (key.length <= MAX_HELD_KEY_LENGTH && !key.startsWith('sha1:')) return key;
  return `sha1:${keyDigest(key)}`;
}
