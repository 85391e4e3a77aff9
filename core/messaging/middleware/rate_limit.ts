/**
 * Per-device rate limiting for routes. A message over its device's limit is refused with
 * `E_RATE_LIMITED`; the pipeline acknowledges it (a broker redelivering it at once would only
 * hit the limit again) and dead-letters the first of a burst with the reason, counting the
 * rest (see `rate_limited_bursts.ts`).
 */
import { RateLimitedError } from '../../errors.js';
import type { Middleware } from '../../routing/compose.js';
import type { MessageContext } from '../message_context.js';
import { checkRateLimitSettings, type RateLimiter } from './rate_limiter.js';
import { InvalidOptionError } from '../../errors.js';
import { sampledFailures } from '../../support/sampled_failures.js';

/** Options for {@link rateLimit}. */
export interface RateLimitOptions {
  /** Messages allowed per window and key. */
  limit: number;
  /** The sliding window, in milliseconds. */
  windowMs: number;
  /**
   * What to count by. Default: the authenticated device (`ctx.deviceId`), else the
   * `{deviceId}` topic parameter, else the MQTT client id. Returning undefined or an empty
   * string lets the message through unlimited.
   */
  key?: (ctx: MessageContext<any>) => string | undefined;
  /**
   * Counts are kept per name and key, so two `rateLimit` middleware with different names
   * never count each other's messages, while ones sharing a name (and limiter) share one
   * budget. 1-64 of `A-Z a-z 0-9 _ . -`. Default: derived from the limit and window, e.g. `60per60000ms`.
   */
  name?: string;
  /**
   * When the limiter itself fails (Redis unreachable): true lets the message through and
   * logs a warning (the first failure of an outage and every 1,000th), so an outage of the
   * limiter's store does not hold traffic; false rethrows, and the pipeline then holds the
   * message unacknowledged and runs its route again once Redis serves (a limiter error that is
   * not Redis being away dead-letters it). Default true.
   */
  failOpen?: boolean;
}

const LIMIT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function firstNonEmpty(...values: (string | undefined)[]): string | undefined {
  return values.find((value) => typeof value === 'string' && value.length > 0);
}

function quote(text: string): string {
  return JSON.stringify(text.length > 128 ? `${text.slice(0, 128)}…` : text);
}

/**
 * Refuses messages from a device that sent more than `limit` in the last `windowMs`.
 *
 * @throws RateLimitedError (to the pipeline, which dead-letters the message) when over the limit.
 * @throws InvalidOptionError at once when `limit` or `windowMs` is not a positive integer, or
 *   `name` is not 1-64 of `A-Z a-z 0-9 _ . -`.
 * @example
 * const limiter = new RedisRateLimiter(redis, 'topiq');
 * routes.on('devices/{deviceId}/telemetry', storeTelemetry, {
 *   middleware: [rateLimit(limiter, { limit: 10, windowMs: 1_000 })],
 * });
 */
export function rateLimit(limiter: RateLimiter, options: RateLimitOptions): Middleware<MessageContext<any>> {
  const { limit, windowMs, failOpen = true } = options;
  checkRateLimitSettings(limit, windowMs);
  // the budget's key is `<name>:<key>`: a name without `:` keeps two limits' budgets apart
  // (names `telemetry` and `telemetry:burst` would share device `burst:d1`'s and `d1`'s)
  if (options.name !== undefined && !LIMIT_NAME.test(options.name)) {
    throw new InvalidOptionError(
      `rate limit name ${JSON.stringify(options.name)} must be 1-64 of A-Z a-z 0-9 _ . - (no ":", which ends the name in the budget's key)`,
    );
  }
  const name = options.name ?? `${limit}per${windowMs}ms`;
  const keyOf = options.key ?? ((ctx) => firstNonEmpty(ctx.deviceId, ctx.params.deviceId, ctx.clientId));
  const subject = options.key ? 'rate-limit key' : 'device';

  // with Redis away every message fails here: the first and every 1,000th of an outage are logged
  const unavailable = sampledFailures();

  return async function rateLimitMiddleware(ctx, next) {
    const key = keyOf(ctx);
    if (key === undefined || key === '') {
      ctx.log.debug(
        { event: 'message.rate_limit_skipped' },
        'no key to rate-limit this message by (no device id, deviceId parameter or client id); not limited',
      );
      return next();
    }
    let result: Awaited<ReturnType<RateLimiter['hit']>>;
    try {
      result = await limiter.hit(`${name}:${key}`, limit, windowMs);
      unavailable.reset(); // working: the next outage is logged from its first failure
    } catch (error) {
      if (!failOpen) throw error;
      const failures = unavailable();
      if (failures !== undefined) {
        ctx.log.warn(
          { event: 'message.rate_limit_unavailable', err: error, failures },
          'rate limiter failed; letting the message through unlimited (logged for the 1st failure and every 1,000th)',
        );
      }
      return next();
    }
    if (!result.allowed) {
      throw new RateLimitedError(
        `${subject} ${quote(key)} sent more than ${limit} messages in ${windowMs} ms (on ${ctx.topic}); ` +
          `it may send again in ${result.retryAfterMs} ms. The message was not handled`,
        { key, retryAfterMs: result.retryAfterMs, limit: name },
      );
    }
    return next();
  };
}
