/**
 * Storing a dead letter waits out a store that cannot serve for now (Redis away, loading),
 * but not a refusal that would come again at every try: that is logged with the message's
 * reason and the message acknowledged, instead of holding it (and every acknowledgement behind
 * it) forever. Closing the pipeline ends a wait at once. Whatever a handler throws, the message
 * is dead-lettered.
 */
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  createRouteTable,
  type DeadLetterStore,
  MemoryDeadLetterStore,
  RedisUnavailableError,
  RedisWrongTypeError,
} from '../../../core/index.js';
import type { DeadLetterInput } from '../../../core/messaging/dead_letters.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';
import { until } from '../../support/until.js';

/** A memory store whose `add` throws each of `failures` in turn, then stores; counts its calls. */
function failingStore(failures: readonly unknown[]): DeadLetterStore & { calls: number } {
  const inner = new MemoryDeadLetterStore();
  const store = {
    calls: 0,
    add(input: DeadLetterInput) {
      const failure = failures[store.calls++];
      return failure === undefined ? inner.add(input) : Promise.reject(failure);
    },
    list: (limit: number) => inner.list(limit),
    read: (limit: number) => inner.read(limit),
    flush: () => inner.flush(),
  };
  return store;
}

function throwingRoute(thrown: () => unknown) {
  const routes = createRouteTable();
  routes.on('devices/{deviceId}/telemetry', () => {
    throw thrown();
  });
  return routes;
}

describe('MessagePipeline storing a dead letter', () => {
  it('tries again while the store cannot serve, then stores it', async () => {
    const deadLetters = failingStore([
      new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer'),
      new ReplyError('LOADING Redis is loading the dataset in memory'),
    ]);
    const log = capturingLogger('warn');
    const { pipeline } = memoryPipeline(
      throwingRoute(() => new Error('bad reading')),
      {
        deadLetters,
        log: log.logger,
      },
    );

    await pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 }));

    expect(deadLetters.calls).toBe(3);
    expect(await deadLetters.list(10)).toEqual([expect.objectContaining({ reason: 'bad reading' })]);
    // the first failure only: the second came within DEAD_LETTER_FAILED_LOG_MS
    expect(log.events('message.dead_letter_failed')).toEqual([expect.objectContaining({ failures: 1 })]);
    expect(log.events('message.dead_lettered')).toEqual([expect.objectContaining({ failures: 2 })]);
    expect(pipeline.stats).toMatchObject({ deadLettered: 1, deadLettersRefused: 0 });
  });

  it('acknowledges at once, with an error line naming the topic, reason and refusal, a dead letter the store refuses for good', async () => {
    const refusal = new RedisWrongTypeError('Redis key topiq:dead-letters holds a value of another type');
    const deadLetters = failingStore(Array.from({ length: 100 }, () => refusal));
    const log = capturingLogger('warn');
    const { pipeline } = memoryPipeline(
      throwingRoute(() => new Error('bad reading')),
      {
        deadLetters,
        log: log.logger,
      },
    );

    // resolves (the message is acknowledged) after one try, instead of retrying until shutdown
    await pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 }));

    expect(deadLetters.calls).toBe(1);
    expect(pipeline.stats).toMatchObject({ deadLettered: 0, deadLettersRefused: 1 });
    expect(log.events('message.dead_lettered')).toEqual([]);
    expect(log.events('message.dead_letter_refused')).toEqual([
      expect.objectContaining({
        level: 50,
        topic: 'devices/d1/telemetry',
        route: 'devices/{deviceId}/telemetry',
        reason: 'bad reading',
        err: expect.objectContaining({ code: 'E_REDIS_WRONG_TYPE', message: refusal.message }),
      }),
    ]);
  });

  it('stops waiting as soon as the pipeline closes, leaving the message unacknowledged', async () => {
    const unavailable = new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer');
    const deadLetters = failingStore(Array.from({ length: 100 }, () => unavailable));
    const { pipeline } = memoryPipeline(
      throwingRoute(() => new Error('bad reading')),
      { deadLetters },
    );

    const outcome = pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 })).then(
      () => 'acknowledged',
      (error: unknown) => error,
    );
    // past the second try the wait is 0.2-0.4 s
    await until('the store was tried twice', () => deadLetters.calls >= 2);
    pipeline.close();
    const triedBeforeClose = deadLetters.calls;

    expect(await outcome).toBe(unavailable);
    // the wait in progress ended: no try after close (it would have come within 0.4 s)
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deadLetters.calls).toBe(triedBeforeClose);
  });

  it('dead-letters a message whose handler threw an object without a prototype', async () => {
    const { pipeline, deadLetters } = memoryPipeline(throwingRoute(() => Object.create(null)));

    await pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 }));

    expect(await deadLetters.list(10)).toEqual([expect.objectContaining({ reason: '[object Object]' })]);
    expect(pipeline.stats.deadLettered).toBe(1);
  });

  it('logs a reason quoting a 1 MiB payload cut as the entry keeps it', async () => {
    const log = capturingLogger('warn');
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', (ctx) => {
      throw new Error(`bad reading ${ctx.text()}`);
    });
    const { pipeline, deadLetters } = memoryPipeline(routes, { log: log.logger });

    await pipeline.handle(fakeMessage('devices/d1/telemetry', 'x'.repeat(1024 * 1024)));

    const [entry] = await deadLetters.list(1);
    expect(Buffer.byteLength(entry?.reason ?? '')).toBeLessThanOrEqual(4096);
    expect(log.events('message.dead_lettered')).toEqual([expect.objectContaining({ reason: entry?.reason })]);
  });
});
