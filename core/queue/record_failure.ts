/**
 * Recording a failed attempt through a Redis outage. A `fail` call can reach Redis and lose its
 * reply; sent again for the same lease, it gets the outcome of its first run (fail_job.lua), so
 * trying again is safe and learns what happened instead of taking the job for lost.
 */
import { isTopiqError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Failure, FailOutcome, QueueDriver } from './driver.js';

/** Tries before the failure is left to the job's lease (waits of 0.1 s doubling between them). */
export const FAIL_TRIES = 6;

/** Replies of a Redis that is starting, failing over or busy with a script: they pass. */
const PASSING = /^(LOADING|BUSY|READONLY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN)\b/;

function passing(error: unknown): boolean {
  return (
    isTopiqError(error, 'E_REDIS_UNAVAILABLE') || (error instanceof Error && PASSING.test(error.message))
  );
}

/**
 * Sends `failure`, again while Redis cannot be reached (`E_REDIS_UNAVAILABLE`) or answers that it
 * is loading, failing over or busy (`LOADING`, `READONLY`, `BUSY` and the like), up to
 * {@link FAIL_TRIES} tries with waits of 0.1 s doubling between them (3.1 s of waits, on top of
 * each try's own). Any other error is thrown at once.
 */
export async function recordFailure(
  driver: QueueDriver,
  failure: Failure,
  log: Logger,
): Promise<FailOutcome> {
  for (let tries = 1; ; tries++) {
    try {
      return await driver.fail(failure);
    } catch (error) {
      if (tries >= FAIL_TRIES || !passing(error)) throw error;
      log.warn(
        { event: 'job.fail_retry', err: error, tries, jobId: failure.lease.id, queue: failure.lease.queue },
        'could not record the failed attempt; trying again',
      );
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (tries - 1)).unref());
    }
  }
}
