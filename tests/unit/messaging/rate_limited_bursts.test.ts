import { describe, expect, it } from 'vitest';
import { createRouteTable } from '../../../core/index.js';
import { RateLimitedBursts } from '../../../core/messaging/rate_limited_bursts.js';
import { MemoryRateLimiter, rateLimit } from '../../../core/messaging/middleware/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';

describe('RateLimitedBursts', () => {
  it('stores the first refusal of a key, counts the rest until it may send again, then stores one with the count', () => {
    const bursts = new RateLimitedBursts();
    expect(bursts.refused('d1', 5000, 0)).toEqual({ store: true, leftOut: 0 });
    expect(bursts.refused('d1', 4000, 1000)).toEqual({ store: false });
    expect(bursts.refused('d2', 5000, 1000)).toEqual({ store: true, leftOut: 0 }); // its own burst
    expect(bursts.refused('d1', 1, 4999)).toEqual({ store: false });
    expect(bursts.refused('d1', 5000, 5000)).toEqual({ store: true, leftOut: 2 });
  });

  it('forgets the key refused longest ago, not one that is still flooding', () => {
    const bursts = new RateLimitedBursts();
    expect(bursts.refused('flooding', 60_000, 0)).toEqual({ store: true, leftOut: 0 });
    for (let i = 0; i < 9_999; i++) bursts.refused(`once-${i}`, 60_000, 1);
    expect(bursts.refused('flooding', 60_000, 2)).toEqual({ store: false });
    bursts.refused('new-1', 60_000, 3);
    bursts.refused('new-2', 60_000, 3);
    // still remembered, with its count
    expect(bursts.refused('flooding', 60_000, 60_000)).toEqual({ store: true, leftOut: 1 });
  });

  it('holds a key past 128 characters as its SHA-1, so 10,000 long keys stay small', () => {
    const bursts = new RateLimitedBursts();
    const long = (i: number) =>
      `devices/{deviceId}/telemetry\n100per1000ms\ndevice:${String(i).padStart(1_000, 'x')}`;
    for (let i = 0; i < 10_000; i++) bursts.refused(long(i), 1000, 0);
    bursts.refused('devices/{deviceId}/telemetry\n100per1000ms\ndevice:d1', 1000, 0);
    const held = bursts.heldKeys();
    expect(held).toHaveLength(10_000);
    expect(Math.max(...held.map((key) => key.length))).toBeLessThanOrEqual(128);
    expect(held).toContain('devices/{deviceId}/telemetry\n100per1000ms\ndevice:d1');
    // still one burst per long key
    expect(bursts.refused(long(9_999), 1000, 1)).toEqual({ store: false });
    expect(bursts.refused(long(9_999), 1000, 1000)).toEqual({ store: true, leftOut: 1 });
  });

  it('keeps a key quiet for a second at least, however soon the limiter says it may send', () => {
    const bursts = new RateLimitedBursts();
    expect(bursts.refused('d1', 1, 0)).toEqual({ store: true, leftOut: 0 });
    expect(bursts.refused('d1', 1, 999)).toEqual({ store: false });
    expect(bursts.refused('d1', 1, 1000)).toEqual({ store: true, leftOut: 1 });
  });
});

describe('MessagePipeline with a rate limit', () => {
  it('stores the first refused message of a flooding device and acknowledges the rest uncounted in the store', async () => {
    const routes = createRouteTable();
    const handled: number[] = [];
    routes.on('devices/{deviceId}/telemetry', () => void handled.push(1), {
      middleware: [rateLimit(new MemoryRateLimiter(), { limit: 3, windowMs: 60_000 })],
    });
    const log = capturingLogger('warn');
    const { pipeline, deadLetters } = memoryPipeline(routes, { log: log.logger });
    for (let i = 0; i < 1000; i++) {
      await pipeline.handle(fakeMessage('devices/d1/telemetry', { i }, { deviceId: 'd1' }));
    }
    await pipeline.handle(fakeMessage('devices/d2/telemetry', { i: 0 }, { deviceId: 'd2' }));

    expect(handled).toHaveLength(4); // d1's three, and d2's
    const stored = await deadLetters.list(100);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ topic: 'devices/d1/telemetry', code: 'E_RATE_LIMITED' });
    expect(pipeline.stats).toMatchObject({ received: 1001, deadLettered: 1, rateLimitedDropped: 996 });
    // one line for the stored one, one for the first dropped (then every 1,000th)
    expect(log.events('message.dead_lettered')).toHaveLength(1);
    expect(log.events('message.rate_limited_dropped')).toEqual([
      expect.objectContaining({ rateLimitedDropped: 1, topic: 'devices/d1/telemetry' }),
    ]);
  });
});

describe('MessagePipeline with two rate limits on one route', () => {
  it('stores the first refusal of each limit, even while the other limit keeps the device quiet', async () => {
    const routes = createRouteTable();
    const limiter = new MemoryRateLimiter();
    routes.on('devices/{deviceId}/telemetry', () => {}, {
      middleware: [
        rateLimit(limiter, { name: 'hourly', limit: 2, windowMs: 3_600_000 }),
        rateLimit(limiter, { name: 'minutely', limit: 1, windowMs: 60_000 }),
      ],
    });
    const { pipeline, deadLetters } = memoryPipeline(routes);
    for (let i = 0; i < 4; i++) {
      await pipeline.handle(fakeMessage('devices/d1/telemetry', { i }, { deviceId: 'd1' }));
    }

    // message 1 passes both; 2 passes "hourly" and is refused by "minutely"; 3 and 4 are refused by "hourly"
    const stored = await deadLetters.list(100);
    expect(stored.map((letter) => letter.reason.match(/more than (\d)/)?.[1]).sort()).toEqual(['1', '2']);
    expect(pipeline.stats).toMatchObject({ deadLettered: 2, rateLimitedDropped: 1 });
  });
});
