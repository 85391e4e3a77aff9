import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RateLimitedError, RedisUnavailableError } from '../../../../core/errors.js';
import {
  RedisRateLimiter,
  rateLimit,
  rateLimitRedisKey,
} from '../../../../core/messaging/middleware/index.js';
import { makeContext } from '../../../unit/messaging/middleware/context_fixture.js';
import { freePort } from '../../../support/net.js';
import { defineRateLimiterContract } from './rate_limiter_contract.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `fxr-rl-${randomBytes(4).toString('hex')}`;
const redis = new Redis(REDIS_URL);
// A second connection, as a second process would have: hits from both share one budget.
const other = new Redis(REDIS_URL);
const limiters = [new RedisRateLimiter(redis, prefix), new RedisRateLimiter(other, prefix)];
let turn = 0;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await Promise.all([redis.quit(), other.quit()]);
});

defineRateLimiterContract('Redis', () => limiters[turn++ % 2]!);

describe('RedisRateLimiter', () => {
  const limiter = limiters[0]!;

  it('keeps plain keys readable and stores any other key as its SHA-1', async () => {
    expect(rateLimitRedisKey('p', 'device-42:a.b_c', 1_000)).toBe('p:ratelimit:1000:k:device-42:a.b_c');
    expect(rateLimitRedisKey('p', 'a b', 1_000)).toMatch(/^p:ratelimit:1000:h:[0-9a-f]{40}$/);
    expect(rateLimitRedisKey('p', 'k'.repeat(129), 1_000)).toMatch(/^p:ratelimit:1000:h:[0-9a-f]{40}$/);
    // The two namespaces never collide, even with a key that is itself a SHA-1.
    const hashed = rateLimitRedisKey('p', 'a b', 1_000).split(':').pop()!;
    expect(rateLimitRedisKey('p', hashed, 1_000)).not.toBe(rateLimitRedisKey('p', 'a b', 1_000));
    // Nor do two windows of one key.
    expect(rateLimitRedisKey('p', 'd1', 100)).not.toBe(rateLimitRedisKey('p', 'd1', 1_000));

    const unsafe = `evil\r\n*1\r\n$8\r\nFLUSHALL\r\n{tag} ${randomBytes(2).toString('hex')}`;
    await limiter.hit(unsafe, 5, 10_000);
    await limiter.hit('plain-key', 5, 10_000);
    const keys = (await redis.keys(`${prefix}:*`)).sort();
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_.:-]+$/);
    expect(keys).toContain(rateLimitRedisKey(prefix, unsafe, 10_000));
    expect(keys).toContain(`${prefix}:ratelimit:10000:k:plain-key`);
  });

  it('holds at most `limit` members per key and lets the key expire a window after its last hit', async () => {
    const key = `expiry-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 8; i++) await limiter.hit(key, 3, 300);
    const redisKey = rateLimitRedisKey(prefix, key, 300);
    expect(await redis.zcard(redisKey)).toBe(3);
    const ttl = await redis.pttl(redisKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await redis.exists(redisKey)).toBe(0);
  });

  it('expires a long window by its own window, however often a short window on the key is hit', async () => {
    const key = `windows-${randomBytes(4).toString('hex')}`;
    await limiter.hit(key, 1, 10_000);
    for (let i = 0; i < 3; i++) await limiter.hit(key, 5, 100);
    expect(await redis.pttl(rateLimitRedisKey(prefix, key, 10_000))).toBeGreaterThan(9_000);
    expect(await redis.pttl(rateLimitRedisKey(prefix, key, 100))).toBeLessThanOrEqual(100);
  });

  it('never allows more than the limit to 50 parallel hits from two connections', async () => {
    const key = `burst-${randomBytes(4).toString('hex')}`;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => limiters[i % 2]!.hit(key, 7, 10_000)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(7);
    expect(await redis.zcard(rateLimitRedisKey(prefix, key, 10_000))).toBe(7);
  });

  it('refuses messages over the limit through the rateLimit middleware', async () => {
    const middleware = rateLimit(limiter, { limit: 1, windowMs: 10_000 });
    const deviceId = `mw-${randomBytes(4).toString('hex')}`;
    await middleware(makeContext({ deviceId }), async () => {});
    await expect(middleware(makeContext({ deviceId }), async () => {})).rejects.toThrow(RateLimitedError);
  });

  it('rejects with E_REDIS_UNAVAILABLE when Redis cannot be reached', async () => {
    const port = await freePort();
    const down = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on('error', () => {}); // the rejection below is what this test checks
    await expect(new RedisRateLimiter(down, prefix).hit('d1', 1, 1_000)).rejects.toThrow(
      RedisUnavailableError,
    );
    down.disconnect();
  });
});
