/**
 * Per-device rate limiting for routes. A message over its device's limit is refused with
 * `E_RATE_LIMITED`; the pipeline acknowledges it (a broker redelivering it at once would only
 * hit the limit again) and dead-letters only the first refused message of a burst, with the
 * reason, counting the rest (see `rate_limited_bursts.ts`).
 */
import { RateLimitedError } from '../../errors.js';
import type { Middleware } from '../../routing/compose.js';
import { MESSAGE_MEMO, type MessageContext, shownTopic, storeWait } from '../message_context.js';
import { checkRateLimitSettings, heldKey, type RateLimiter } from './rate_limiter.js';
import { InvalidOptionError } from '../../errors.js';
import { sampledFailures } from '../../support/sampled_failures.js';
import { truncate } from '../../support/text.js';

/** Options for {@link rateLimit}; `C` is the context of the route it is on. */
export interface RateLimitOptions<C extends MessageContext<any> = MessageContext<any>> {
  /** Messages allowed per window and key. */
  limit: number;
  /** The sliding window, in milliseconds. */
  windowMs: number;
  /**
   * What to count by. Default: `device:<id>`, the authenticated device (`ctx.deviceId`), else
   * the `{deviceId}` topic parameter (one identity: the embedded broker lets a device publish
   * only under its own id); else `client:<MQTT client id>`, so a client never spends a
   * device's budget by choosing its id as client id. Returning undefined or an empty string
   * lets the message through unlimited.
   */
  key?: (ctx: C) => string | undefined;
  /**
   * Counts are kept per name, key and window: `rateLimit` middleware (on one limiter) with
   * the same name and window share one budget, on whichever routes they are, while a
   * different name or window is a budget of its own. 1-64 of `A-Z a-z 0-9 _ . -`. Default:
   * derived from the limit and window, e.g. `60per60000ms`, so the same limit on several
   * routes (or one on a group) is one budget per device across them; name each to count
   * each route apart.
   */
  name?: string;
  /**
   * When the limiter itself fails (Redis unreachable): true lets the message through and
   * logs a warning (the first failure of an outage and every 1,000th), so an outage of the
   * limiter's store does not hold traffic; false rethrows, and the pipeline then holds the
   * message unacknowledged and runs its route again once Redis serves (a limiter error that is
   * not Redis being away dead-letters it). Default true; anything but a boolean is refused.
   */
  failOpen?: boolean;
}

const LIMIT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const DEVICE = 'device:';
const CLIENT = 'client:';

type HitResult = Awaited<ReturnType<RateLimiter['hit']>>;

/** The decisions of `limiter`'s budgets about the message of `ctx`, by budget key. */
function decisionsOf(ctx: MessageContext<any>, limiter: RateLimiter): Map<string, HitResult> {
  const memo = ctx[MESSAGE_MEMO];
  let decided = memo.get(limiter) as Map<string, HitResult> | undefined;
  if (decided === undefined) {
    decided = new Map();
    memo.set(limiter, decided);
  }
  return decided;
}

/** Labelled by source, so a client id never meets a device id of the same text. */
function defaultKey(ctx: MessageContext<any>): string | undefined {
  const device = firstNonEmpty(ctx.deviceId, ctx.params.deviceId);
  if (device !== undefined) return DEVICE + device;
  const client = firstNonEmpty(ctx.clientId);
  return client === undefined ? undefined : CLIENT + client;
}

function firstNonEmpty(...values: (string | undefined)[]): string | undefined {
  return values.find((value) => typeof value === 'string' && value.length > 0);
}

/** `device "d1"`, `client "c1"`, or `rate-limit key "…"` for a key of the app's own. */
function describeKey(key: string, labelled: boolean): string {
  if (labelled && key.startsWith(DEVICE)) return `device ${quote(key.slice(DEVICE.length))}`;
  if (labelled && key.startsWith(CLIENT)) return `client ${quote(key.slice(CLIENT.length))}`;
  return `rate-limit key ${quote(key)}`;
}

function quote(text: string): string {
  return JSON.stringify(truncate(text, 129));
}

/**
 * Refuses messages from a device that sent more than `limit` in the last `windowMs`.
 *
 * @throws RateLimitedError when over the limit. The pipeline acknowledges the message and
 *   dead-letters it only when it is the first refused of its burst (per route, limit name and
 *   key); the rest are counted (see `rate_limited_bursts.ts`). The error's `key` is the key
 *   counted by (`device:d1`), as its SHA-1 (`sha1:…`) when longer than 128 characters.
 * @throws InvalidOptionError at once when `limit` or `windowMs` is not a positive integer,
 *   `name` is not 1-64 of `A-Z a-z 0-9 _ . -`, or `failOpen` is not a boolean.
 * @example
 * const limiter = new RedisRateLimiter(redis, 'topiq');
 * routes.on('devices/{deviceId}/telemetry', storeTelemetry, {
 *   middleware: [rateLimit(limiter, { limit: 10, windowMs: 1_000 })],
 * });
 */
export function rateLimit<C extends MessageContext<any> = MessageContext<any>>(
  limiter: RateLimiter,
  options: RateLimitOptions<C>,
): Middleware<C> {
  const { limit, windowMs, failOpen = true } = options;
  checkRateLimitSettings(limit, windowMs);
  if (typeof failOpen !== 'boolean') {
    throw new InvalidOptionError(`rate limit failOpen ${JSON.stringify(failOpen)} must be true or false`);
  }
  // the budget's key is `<name>:<key>`: a name without `:` keeps two limits' budgets apart
  // (names `telemetry` and `telemetry:burst` would share device `burst:d1`'s and `d1`'s)
  if (options.name !== undefined && !LIMIT_NAME.test(options.name)) {
    throw new InvalidOptionError(
      `rate limit name ${JSON.stringify(options.name)} must be 1-64 of A-Z a-z 0-9 _ . - (no ":", which ends the name in the budget's key)`,
    );
  }
  const name = options.name ?? `${limit}per${windowMs}ms`;
  const keyOf = options.key ?? defaultKey;
  const labelled = options.key === undefined;

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
    // once per message and budget: a second route of the message on the same budget, or a run
    // again of this route after a store outage, takes the first decision (see MESSAGE_MEMO)
    const budget = `${name}:${key}`;
    const decided = decisionsOf(ctx, limiter);
    // a name shared by limits of another window is another budget (the limiter keys it so), and
    // another limit on the same budget decides by its own count
    const decision = `${windowMs}:${limit}:${budget}`;
    let result = decided.get(decision);
    try {
      if (result === undefined) {
        // a wait for the store, not the handler's own time (a Redis that stops answering must
        // not run the message past its deadline and dead-letter it)
        result = await storeWait(ctx, limiter.hit(budget, limit, windowMs));
        decided.set(decision, result);
      }
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
        `${describeKey(key, labelled)} sent more than ${limit} messages in ${windowMs} ms (on ${shownTopic(ctx.topic)}); ` +
          `it may send again in ${result.retryAfterMs} ms. The message was not handled`,
        // hashed when long: the pipeline keeps it, one per flooding key, to track its burst
        { key: heldKey(key), retryAfterMs: result.retryAfterMs, limit: name },
      );
    }
    return next();
  };
}
