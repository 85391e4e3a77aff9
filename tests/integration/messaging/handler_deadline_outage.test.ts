/**
 * A Redis that stops answering without closing the connection (CLIENT PAUSE during a failover,
 * a hung server, a restart still loading its dataset) makes no call fail fast: ioredis has no
 * command timeout. The handler deadline (MQTT_HANDLER_TIMEOUT_MS) does not count such waits
 * when they are the message's own: its state calls, `rateLimit`'s count, and its dispatches, so
 * the outage never dead-letters it. Against a private Redis, paused for 1.5 s with a 300 ms
 * deadline.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRouteTable,
  Dispatcher,
  Job,
  JobRegistry,
  MessagePipeline,
  RedisDeadLetterStore,
  RedisQueueDriver,
  RedisStateStore,
  rateLimit,
  silentLogger,
} from '../../../core/index.js';
import { RedisRateLimiter } from '../../../core/messaging/middleware/redis_rate_limiter.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { startPrivateRedis } from '../../support/private_redis.js';

class PingJob extends Job<{ n: number }> {
  async handle(): Promise<void> {}
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(kind: 'state' | 'rateLimit' | 'dispatch') {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.stop());
  const prefix = `deadline-outage-${Math.random().toString(36).slice(2, 10)}`;
  const driver = new RedisQueueDriver({ connection: `redis://127.0.0.1:${redis.port}`, prefix });
  cleanups.push(() => driver.close());
  const admin = new Redis({ port: redis.port, lazyConnect: true });
  cleanups.push(() => void admin.disconnect());
  const routes = createRouteTable();
  const limiter = new RedisRateLimiter(driver.redis, prefix);
  const dispatcher = new Dispatcher(driver, new JobRegistry().register(PingJob));
  const handler = async (ctx: any) => {
    if (kind === 'state') await ctx.state.get('devices', ctx.params.deviceId);
    await ctx.dispatch(PingJob, { n: 1 });
  };
  routes.on(
    'devices/{deviceId}/reading',
    handler,
    kind === 'rateLimit' ? { middleware: [rateLimit(limiter, { limit: 1000, windowMs: 60_000 })] } : {},
  );
  const deadLetters = new RedisDeadLetterStore(driver.redis, prefix);
  const pipeline = new MessagePipeline({
    routes,
    dispatcher,
    deadLetters,
    state: new RedisStateStore(driver.redis, prefix),
    publish: async () => {},
    log: silentLogger(),
    handlerTimeoutMs: 300,
  });
  cleanups.push(() => pipeline.close());
  // connected and warm
  await pipeline.handle(fakeMessage('devices/d0/reading', {}));
  return { pipeline, deadLetters, driver, admin };
}

describe('the handler deadline while Redis stops answering for 1.5 s (CLIENT PAUSE ALL, as a failover does)', () => {
  it.each(['state', 'rateLimit', 'dispatch'] as const)(
    'does not dead-letter a message whose route waits for Redis through its %s',
    async (kind) => {
      const { pipeline, deadLetters, driver, admin } = await setup(kind);
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      await pipeline.handle(fakeMessage('devices/d1/reading', {}));
      expect(await deadLetters.list(10)).toEqual([]);
      expect(pipeline.stats.deadLettered).toBe(0);
      expect((await driver.counts('default')).waiting).toBe(2);
    },
    15_000,
  );
});
