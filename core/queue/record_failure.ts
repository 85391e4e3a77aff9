/**
 * Recording a failed attempt through a Redis outage. A `fail` call can reach Redis and lose its
 * reply; sent again for the same lease, it gets the outcome of its first run (fail_job.lua), so
 * trying again is safe and learns what happened instead of taking the job for lost.
 */
import { isTopiqError } from '../errors.js';
import type { Logger } from '../logger.js';
import { retryUntilDone } from '../support/retry.js';
import type { Failure, FailResult, QueueDriver } from './driver.js';

/** Tries before the failure is left to the job's lease. */
export const FAIL_TRIES = 6;

/**
 * Error codes of a Redis that is starting, failing over or busy with a script, or out of
 * memory, disk or replicas for now: they pass. Each refuses a command before it writes
 * anything (a script is refused at its first write), so the call may be sent again.
 */
export const PASSING_REDIS_STATES = [
  'LOADING',
  'BUSY',
  'READONLY',
  'TRYAGAIN',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'OOM',
  'MISCONF',
  'NOREPLICAS',
];
/** A reply that starts with one of {@link PASSING_REDIS_STATES}. */
export const PASSING_REPLY = new RegExp(`^(${PASSING_REDIS_STATES.join('|')})\\b`);

/** Whether `error` means Redis is away or answers that it will be back: a call may be sent again. */
export function isPassingRedisError(error: unknown): boolean {
  return (
    isTopiqError(error, 'E_REDIS_UNAVAILABLE') ||
    (error instanceof Error && PASSING_REPLY.test(error.message))
  );
}

/**
 * Sends `failure`, again while Redis cannot be reached (`E_REDIS_UNAVAILABLE`) or answers that it
 * is loading, failing over, busy or out of memory (`LOADING`, `READONLY`, `BUSY`, `OOM` and the
 * like: {@link PASSING_REDIS_STATES}), up to
 * {@link FAIL_TRIES} tries with the backoff of `retryUntilDone` between them (0.1-0.2 s at
 * first, doubling, jittered). Any other error is thrown at once.
 */
export function recordFailure(driver: QueueDriver, failure: Failure, log: Logger): Promise<FailResult> {
  return whileRedisPasses(
    () => driver.fail(failure),
    (error, retryInMs, tries) =>
      log.warn(
        {
          event: 'job.fail_retry',
          err: error,
          tries,
          retryInMs,
          jobId: failure.lease.id,
          queue: failure.lease.queue,
        },
        'could not record the failed attempt; trying again',
      ),
  );
}

/**
 * Runs a driver call that is safe to send again (its script answers a repeat as its first run),
 * again while Redis passes ({@link isPassingRedisError}), up to {@link FAIL_TRIES} tries; each
 * failed try is reported to `onError`. Any other error, or the last one, is thrown.
 */
export function whileRedisPasses<T>(
  operation: () => Promise<T>,
  onError: (error: unknown, retryInMs: number, tries: number) => void,
): Promise<T> {
  return retryUntilDone(operation, {
    giveUp: (error, tries) => tries >= FAIL_TRIES || !isPassingRedisError(error),
    onError,
  });
}
