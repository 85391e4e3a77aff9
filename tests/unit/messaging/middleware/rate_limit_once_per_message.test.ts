/**
 * `rateLimit` counts a message once per budget: across the routes of one group the message
 * matches, and across the runs again of its route after a store outage.
 */
import { describe, expect, it } from 'vitest';
import {
  type AppRouteTable,
  fakeMessage,
  MemoryRateLimiter,
  MemoryStateStore,
  type MessageContext,
  type MessageHandler,
  RedisUnavailableError,
  RouteTable,
  rateLimit,
  type StateStore,
} from '../../../../core/index.js';
import { memoryPipeline } from '../../../support/memory_pipeline.js';

const table = () => new RouteTable<MessageContext<{}>, MessageHandler>() as AppRouteTable;

describe('rateLimit, once per message', () => {
  it('counts a message run again after a store outage once against its device', async () => {
    const memory = new MemoryStateStore();
    let failures = 1;
    // the state store's Redis drops once (a flapping link), then serves
    const state: StateStore = {
      merge: async (namespace, id, fields) => {
        if (failures-- > 0) throw new RedisUnavailableError('Redis at 127.0.0.1:6379 cannot be reached');
        return memory.merge(namespace, id, fields);
      },
      get: (namespace, id) => memory.get(namespace, id),
      all: (namespace) => memory.all(namespace),
    };
    const routes = table();
    let merged = 0;
    routes.on(
      'devices/{deviceId}/status',
      async (ctx: MessageContext<{ deviceId: string }>) => {
        await ctx.state.merge('devices', ctx.params.deviceId, { online: true });
        merged++;
      },
      { middleware: [rateLimit(new MemoryRateLimiter(), { limit: 1, windowMs: 60_000 })] },
    );
    const { pipeline, deadLetters } = memoryPipeline(routes, { state });
    await pipeline.handle(fakeMessage('devices/d1/status', { online: true }));
    // its first run's hit does not refuse its second run: handled, nothing dead-lettered
    expect(merged).toBe(1);
    expect(await deadLetters.list(10)).toEqual([]);
    pipeline.close();
  });

  it('counts a message matching two routes of a rate-limited group once against its device', async () => {
    const routes = table();
    const seen: string[] = [];
    routes.group(
      {
        prefix: 'devices/{deviceId}',
        middleware: [rateLimit(new MemoryRateLimiter(), { limit: 3, windowMs: 60_000 })],
      },
      (device) => {
        device.on('telemetry', () => {
          seen.push('telemetry');
        });
        device.on('#', () => {
          seen.push('audit');
        });
      },
    );
    const { pipeline, deadLetters } = memoryPipeline(routes);
    for (let n = 0; n < 3; n++) await pipeline.handle(fakeMessage('devices/d1/telemetry', { n }));
    expect(seen.filter((route) => route === 'telemetry')).toHaveLength(3);
    expect(await deadLetters.list(10)).toEqual([]);
    // the fourth is over the limit on both routes: refused once for each, handled by neither
    await pipeline.handle(fakeMessage('devices/d1/telemetry', { n: 3 }));
    expect(seen).toHaveLength(6);
    pipeline.close();
  });

  it('still checks a second limit of the same name over another window, a budget of its own', async () => {
    const routes = table();
    const limiter = new MemoryRateLimiter();
    let handled = 0;
    routes.on(
      'devices/{deviceId}/telemetry',
      () => {
        handled++;
      },
      {
        middleware: [
          rateLimit(limiter, { name: 'tele', limit: 100, windowMs: 1000 }),
          rateLimit(limiter, { name: 'tele', limit: 3, windowMs: 60_000 }),
        ],
      },
    );
    const { pipeline } = memoryPipeline(routes);
    for (let n = 0; n < 10; n++) await pipeline.handle(fakeMessage('devices/d1/telemetry', { n }));
    expect(handled).toBe(3);
    pipeline.close();
  });
});
