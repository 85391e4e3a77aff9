/**
 * A dead letter waiting out a Redis outage, against a real Redis behind a proxy the test cuts:
 * its retries are logged at the first failure and then at most every
 * `DEAD_LETTER_FAILED_LOG_MS` with how many failed, not once per retry; the line saying it was
 * stored in the end says how many tries failed.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRouteTable, RedisDeadLetterStore } from '../../../core/index.js';
import { DEAD_LETTER_FAILED_LOG_MS } from '../../../core/messaging/message_pipeline.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { TcpProxy } from '../../support/tcp_proxy.js';
import { until } from '../../support/until.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A connection to Redis through a proxy the test can cut, quick to give a command up while it
 * is cut (one reconnect, 50 ms apart: the driver's waits grow to 2 s), and one straight to it.
 */
async function redisBehindProxy() {
  const prefix = `fxd-dead-outage-${randomBytes(4).toString('hex')}`;
  const direct = new Redis('redis://127.0.0.1:6379');
  cleanups.push(async () => {
    await deleteKeys(direct, prefix);
    direct.disconnect();
  });
  const proxy = await TcpProxy.start(6379);
  cleanups.push(() => proxy.close());
  const redis = new Redis(`redis://127.0.0.1:${proxy.port}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  redis.on('error', () => {}); // each call that fails says why
  cleanups.push(async () => redis.disconnect());
  return { prefix, proxy, redis, direct };
}

describe('MessagePipeline storing a dead letter while Redis is away', () => {
  it('logs the first failure, then at most one line per interval with the count, and the count when stored', async () => {
    const { prefix, proxy, redis, direct } = await redisBehindProxy();
    const store = new RedisDeadLetterStore(redis, prefix);
    const add = vi.spyOn(store, 'add');
    // the retries come every few seconds: the clock is moved on instead of waited for
    const realNow = Date.now.bind(Date);
    let skipped = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skipped);
    cleanups.push(async () => clock.mockRestore());
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', () => {
      throw new Error('bad reading');
    });
    const log = capturingLogger('warn');
    const { pipeline } = memoryPipeline(routes, { deadLetters: store, log: log.logger });
    cleanups.push(async () => pipeline.close());

    await proxy.cut();
    const handled = pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 }));
    await until('the store failed three times', () => add.mock.calls.length >= 4);
    expect(log.events('message.dead_letter_failed')).toHaveLength(1);

    skipped += DEAD_LETTER_FAILED_LOG_MS;
    await until('the next failure is logged', () => log.events('message.dead_letter_failed').length > 1);
    await proxy.restore();
    await handled;

    const failures = add.mock.calls.length - 1;
    const lines = log.events('message.dead_letter_failed');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      failures: 1,
      topic: 'devices/d1/telemetry',
      reason: 'bad reading',
      err: expect.objectContaining({ code: 'E_REDIS_UNAVAILABLE' }),
    });
    expect(lines[1]?.failures).toBeGreaterThanOrEqual(4);
    expect(log.events('message.dead_lettered')).toEqual([
      expect.objectContaining({ topic: 'devices/d1/telemetry', failures }),
    ]);
    expect(pipeline.stats).toMatchObject({ deadLettered: 1, deadLettersRefused: 0 });
    expect(await direct.llen(`${prefix}:dead-letters`)).toBe(1);
  });
});
