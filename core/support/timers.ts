/** Limits of Node's timers, which every long wait or timeout must respect. */

/**
 * The longest delay a Node timer holds: 2^31 - 1 ms, about 24.8 days. `setTimeout` runs a
 * longer one after 1 ms (with a `TimeoutOverflowWarning`), so longer waits must be capped or
 * dropped.
 */
export const MAX_TIMER_MS = 2_147_483_647;
