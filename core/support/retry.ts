/** Retrying an operation that must eventually succeed (storing what would otherwise be lost). */
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link retryUntilDone}. */
export interface RetryUntilDoneOptions {
  /** Called after each failure with the delay before the next try. */
  onError(error: unknown, retryInMs: number, attempt: number): void;
  /** When it returns true the last error is thrown instead of trying again. */
  giveUp?: (error: unknown, attempt: number) => boolean;
  maxDelayMs?: number;
  /** Ends the retries (the promise rejects with the last error), a wait in progress at once. */
  signal?: AbortSignal;
}

/**
 * The wait before try `failures + 1` after that many failures in a row: 100 ms doubling
 * (0.2 s after the first), up to `maxMs` (default 5 s); 0 while nothing has failed.
 *
 * @example
 * setTimeout(tryAgain, backoffMs(failures));
 */
export function backoffMs(failures: number, maxMs = 5000): number {
  return failures === 0 ? 0 : Math.min(maxMs, 100 * 2 ** Math.min(failures, 10));
}

/** {@link backoffMs} with jitter: a wait drawn from its second half, so retries spread out. */
export function jitteredBackoffMs(failures: number, maxMs?: number): number {
  return Math.round(backoffMs(failures, maxMs) * (0.5 + Math.random() / 2));
}

/**
 * Runs `operation` until it resolves, waiting with exponential backoff and jitter between
 * tries (100 ms doubling to `maxDelayMs`, default 5 s).
 *
 * @example
 * await retryUntilDone(() => store.add(entry), { onError: (err, ms) => log.error({ err, ms }, 'retrying') });
 */
export async function retryUntilDone<T>(
  operation: () => Promise<T>,
  options: RetryUntilDoneOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (options.giveUp?.(error, attempt) || options.signal?.aborted) throw error;
      const delay = jitteredBackoffMs(attempt, options.maxDelayMs);
      options.onError(error, delay, attempt);
      try {
        await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        throw error; // aborted while waiting
      }
    }
  }
}
