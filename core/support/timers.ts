/** Limits of Node's timers, which every long wait or timeout must respect. */

/**
 * The longest delay a Node timer holds: 2^31 - 1 ms, about 24.8 days. `setTimeout` runs a
 * longer one after 1 ms (with a `TimeoutOverflowWarning`), so longer waits must be capped or
 * dropped.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Settles as `work` does, or rejects with `Error(message)` when it has not settled within `ms`
 * (the work itself goes on; its late outcome is ignored). The timer is cleared once either
 * comes, and never keeps the process alive.
 *
 * @example
 * const principal = await withDeadline(credentials.verify(user, password), 10_000, 'no answer within 10000 ms');
 */
export function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Resolves once `signal` is aborted (at once when it is already). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
