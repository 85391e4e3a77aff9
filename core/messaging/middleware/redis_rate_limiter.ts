/**
 * Sliding-window rate limiting in Redis, shared by every process of an application. Each
 * hit is one atomic Lua script (`scripts/sliding_window.lua`): trim the key's log of
 * hits to the window, count it, and record the hit only when under the limit. Times come
 * from Redis TIME, so processes with skewed clocks still agree.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeConnection, rethrowUnavailable } from '../../queue/drivers/redis/unavailable.js';
import { LuaScripts } from '../../support/lua_scripts.js';
import { checkHit, keyDigest, type RateLimiter, type RateLimitResult } from './rate_limiter.js';

const scripts = new LuaScripts(new URL('./scripts/', import.meta.url), ['sliding_window'] as const);
const SAFE_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The Redis key of the budget of a rate-limit key and window. The window is part of it, so
 * two limits on one key with different windows never trim or expire each other's hits.
 * Keys that are short and plain (`A-Z a-z 0-9 _ . : -`, at most 128) stay readable; anything
 * else, such as a topic level a device chose, goes in as its SHA-1. The `k:` and `h:`
 * namespaces keep the two from ever colliding.
 *
 * @example
 * rateLimitRedisKey('topiq', 'device-42', 1_000); // 'topiq:ratelimit:1000:k:device-42'
 * rateLimitRedisKey('topiq', 'a b\n', 1_000);     // 'topiq:ratelimit:1000:h:<40 hex digits>'
 */
export function rateLimitRedisKey(prefix: string, key: string, windowMs: number): string {
  if (SAFE_KEY.test(key)) return `${prefix}:ratelimit:${windowMs}:k:${key}`;
  return `${prefix}:ratelimit:${windowMs}:h:${keyDigest(key)}`;
}

/**
 * Counts hits per key and window in Redis sorted sets `<prefix>:ratelimit:<windowMs>:…`,
 * which expire a window after their last allowed hit. Connection failures reject with `E_REDIS_UNAVAILABLE`.
 *
 * @example
 * const limiter = new RedisRateLimiter(new Redis('redis://127.0.0.1:6379'), 'topiq');
 * const { allowed, remaining, retryAfterMs } = await limiter.hit('device-42', 60, 60_000);
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  // Makes each hit's sorted-set member unique across processes without a random per hit.
  readonly #instance = randomBytes(8).toString('hex');
  #sequence = 0;

  constructor(redis: Redis, prefix = 'topiq') {
    this.#redis = redis;
    this.#prefix = prefix;
    scripts.register(redis);
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    checkHit(key, limit, windowMs);
    const token = `${this.#instance}-${(this.#sequence++).toString(36)}`;
    const keys = [rateLimitRedisKey(this.#prefix, key, windowMs)];
    const [allowed, remaining, retryAfterMs] = await scripts
      .run<number[]>(this.#redis, 'sliding_window', keys, [limit, windowMs, token])
      .catch(rethrowUnavailable(describeConnection(this.#redis.options)));
    return { allowed: allowed === 1, remaining: remaining ?? 0, retryAfterMs: retryAfterMs ?? 0 };
  }
}
