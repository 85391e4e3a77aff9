/**
 * Whether the app's Redis answers, checked once at start-up (`serve`): a process whose Redis
 * is away runs all the same (messages wait unacknowledged, workers retry), but it must not say
 * it is ready, and a refused password will not mend itself, so it fails the start.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../../logger.js';
import { retryUntilDone } from '../../../support/retry.js';
import { withDeadline } from '../../../support/timers.js';
import { authRefusal, describeConnection, isAuthRefusal } from './unavailable.js';

/** How long one PING may take before it counts as no answer. */
const PING_TIMEOUT_MS = 3000;

/**
 * Resolves true once `redis` answers a PING, tried again with `retryUntilDone`'s backoff until
 * then, or false when `signal` aborts first. The first failure is logged at error
 * (`server.redis_unavailable`) and the answer that follows at info (`server.redis_answering`).
 * Rejects with `E_REDIS_AUTH` when Redis refuses the connection's password.
 *
 * @example
 * if (await redisAnswers(app.redis, app.log, stopping.signal)) app.log.info('ready');
 */
export async function redisAnswers(redis: Redis, log: Logger, signal: AbortSignal): Promise<boolean> {
  const where = describeConnection(redis.options);
  let failures = 0;
  try {
    await retryUntilDone(() => ping(redis), {
      signal,
      giveUp: isAuthRefusal,
      onError: (error) => {
        if (failures++ > 0) return;
        log.error(
          { event: 'server.redis_unavailable', err: error },
          `Redis at ${where} does not answer: messages wait unacknowledged and workers retry until it does; ` +
            'start Redis, or check REDIS_URL',
        );
      },
    });
  } catch (error) {
    if (isAuthRefusal(error)) throw authRefusal(where, error);
    return false; // stopped while it did not answer
  }
  // an answer that comes after a stop does not make the server ready
  if (signal.aborted) return false;
  if (failures > 0) log.info({ event: 'server.redis_answering', failures }, `Redis at ${where} answers`);
  return true;
}

/** A PING, failed when no answer comes within {@link PING_TIMEOUT_MS}. */
function ping(redis: Redis): Promise<unknown> {
  return withDeadline(redis.ping(), PING_TIMEOUT_MS, `no answer within ${PING_TIMEOUT_MS} ms`);
}
