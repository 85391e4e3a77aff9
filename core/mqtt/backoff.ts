/**
 * Reconnect delays. mqtt.js retries on a fixed interval, so a fleet of instances that
 * lost the same broker reconnects in lock-step and hammers it as it comes back. Topiq
 * waits an exponentially growing, fully jittered delay instead ("full jitter" from the
 * AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in
 * `[0, min(maxMs, baseMs * 2^attempt))`, which spreads a fleet evenly over the window.
 */

/** How long reconnect attempts wait. */
export interface BackoffPolicy {
  /** Upper bound of the first retry's delay, in milliseconds. */
  baseMs: number;
  /** Cap on any delay, in milliseconds. */
  maxMs: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a loss).
 * `random` returns a number in `[0, 1)` and is injectable so tests are deterministic.
 *
 * @example
 * const policy = { baseMs: 500, maxMs: 30_000 };
 * backoffDelay(0, policy); // somewhere in [0, 500)
 * backoffDelay(10, policy); // somewhere in [0, 30_000)
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  // 2 ** 31 already exceeds any sane cap; clamping the exponent keeps the product finite.
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 31);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
