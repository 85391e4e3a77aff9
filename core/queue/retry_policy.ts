/**
 * How long a failed attempt waits before the next one. A job's `retryAfter` (seconds) is
 * a fixed number, a list per attempt (the last entry repeats), or an exponential policy
 * with optional jitter, as in Laravel's `backoff` and BullMQ's `backoff: exponential`.
 */
import { InvalidOptionError } from '../errors.js';
import { LATEST_DISPATCH_MS } from './dispatch_options.js';

/**
 * The longest wait a policy may name, in seconds: as long as the longest `delay` a dispatch
 * takes (to the end of the year 9999), so a retry's run-at time stays a time both drivers
 * store alike and a `Date` holds.
 */
export const MAX_RETRY_SECONDS = Math.floor(LATEST_DISPATCH_MS / 1000);

/** Tries a worker gives a job that sets no `maxTries` (`Worker`'s `tries`, `queue:work --tries`). */
export const DEFAULT_TRIES = 3;

/** Exponential backoff: `base * 2^(attempt-1)` seconds, capped at `max`, with jitter. */
export interface ExponentialRetry {
  type: 'exponential';
  /** Seconds before the second attempt. */
  base: number;
  /** Upper bound in seconds (default 3600). */
  max?: number;
  /** `full` picks uniformly in [0, delay]; `equal` in [delay/2, delay]; `none` (default) is exact. */
  jitter?: 'none' | 'full' | 'equal';
}

/** Seconds to wait: a number, a list per attempt, or {@link ExponentialRetry}. */
export type RetryPolicy = number | readonly number[] | ExponentialRetry;

/** Throws `E_INVALID_OPTION` unless `policy` is a well-formed {@link RetryPolicy}. */
export function assertRetryPolicy(policy: unknown, label = 'retryAfter'): asserts policy is RetryPolicy {
  const ok = (value: unknown): boolean =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_RETRY_SECONDS;
  if (ok(policy)) return;
  if (Array.isArray(policy) && policy.length > 0 && policy.every(ok)) return;
  if (typeof policy === 'object' && policy !== null && (policy as ExponentialRetry).type === 'exponential') {
    const { base, max, jitter } = policy as ExponentialRetry;
    if (ok(base) && (max === undefined || ok(max)) && [undefined, 'none', 'full', 'equal'].includes(jitter))
      return;
  }
  throw new InvalidOptionError(
    `${label} must be seconds from 0 to ${MAX_RETRY_SECONDS} (e.g. 10), a list per attempt (e.g. [1, 5, 30]) or ` +
      `{ type: 'exponential', base: 2, max: 600, jitter: 'full' }; got ${JSON.stringify(policy)}`,
  );
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based).
 *
 * @example
 * retryDelayMs([1, 5, 30], 2); // 5000
 * retryDelayMs({ type: 'exponential', base: 2 }, 3); // 8000
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  if (typeof policy === 'number') return Math.round(policy * 1000);
  if (Array.isArray(policy)) {
    const list = policy as readonly number[];
    return Math.round((list[Math.min(attempt, list.length) - 1] ?? 0) * 1000);
  }
  const { base, max = 3600, jitter = 'none' } = policy as ExponentialRetry;
  // the exponent capped: 0 * 2 ** 1024 is NaN (base 0, attempt 1025 on)
  const delay = Math.min(max, base * 2 ** Math.min(Math.max(0, attempt - 1), 64)) * 1000;
  if (jitter === 'full') return Math.round(random() * delay);
  if (jitter === 'equal') return Math.round(delay / 2 + (random() * delay) / 2);
  return Math.round(delay);
}

/** Parses a CLI `--backoff` value: `10`, `1,5,30` or `exp:2[:600]`. */
export function parseRetryPolicy(text: string): RetryPolicy {
  const trimmed = text.trim();
  const exponential = /^exp(?:onential)?:(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?$/.exec(trimmed);
  let policy: unknown;
  if (exponential) {
    policy = {
      type: 'exponential',
      base: Number(exponential[1]),
      ...(exponential[2] ? { max: Number(exponential[2]) } : {}),
      jitter: 'full',
    };
  } else if (trimmed.includes(',')) {
    policy = trimmed.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
  } else {
    policy = trimmed === '' ? Number.NaN : Number(trimmed);
  }
  assertRetryPolicy(policy, '--backoff');
  return policy;
}
