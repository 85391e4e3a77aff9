/**
 * The Redis dead-letter store against a real Redis: a key of another type in the list's place
 * fails every call with `E_REDIS_WRONG_TYPE` naming the key, and leaves the key as it was;
 * before, `add` resolved with nothing stored and `flush` deleted it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRouteTable, RedisDeadLetterStore } from '../../../core/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';
import { deleteKeys } from '../../support/redis_keys.js';

const redis = new Redis('redis://127.0.0.1:6379');
const prefix = `fxd-dead-${randomBytes(4).toString('hex')}`;
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** A store whose list key holds a string, set as by hand. */
async function storeOverString(name: string): Promise<{ store: RedisDeadLetterStore; key: string }> {
  const key = `${prefix}:${name}:dead-letters`;
  await redis.set(key, 'not a list');
  return { store: new RedisDeadLetterStore(redis, `${prefix}:${name}`, 10), key };
}

describe('RedisDeadLetterStore', () => {
  it('adds, lists and flushes entries, keeping the newest up to its limit', async () => {
    const store = new RedisDeadLetterStore(redis, `${prefix}:plain`, 2);
    for (const n of [1, 2, 3]) await store.add({ topic: `t/${n}`, payload: Buffer.from('{}'), reason: 'r' });

    expect((await store.list(10)).map((entry) => entry.topic)).toEqual(['t/3', 't/2']);
    expect(await store.flush()).toBe(2);
    expect(await store.list(10)).toEqual([]);
  });

  it('fails add, read and flush with E_REDIS_WRONG_TYPE naming the key when it holds another type, and leaves it', async () => {
    const { store, key } = await storeOverString('wrongtype');
    const expected = expect.objectContaining({
      code: 'E_REDIS_WRONG_TYPE',
      message: expect.stringContaining(`redis-cli DEL ${key}`),
    });

    await expect(store.add({ topic: 't', payload: Buffer.from('x'), reason: 'r' })).rejects.toEqual(expected);
    await expect(store.read(5)).rejects.toEqual(expected);
    await expect(store.flush()).rejects.toEqual(expected);
    expect(await redis.get(key)).toBe('not a list');
  });

  it('makes the pipeline log the refusal, not a dead letter, and acknowledge the message', async () => {
    const { store, key } = await storeOverString('pipeline');
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', () => {
      throw new Error('bad reading');
    });
    const log = capturingLogger('warn');
    const { pipeline } = memoryPipeline(routes, { deadLetters: store, log: log.logger });

    await pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 }));

    expect(log.events('message.dead_lettered')).toEqual([]);
    expect(log.events('message.dead_letter_refused')).toEqual([
      expect.objectContaining({
        topic: 'devices/d1/telemetry',
        reason: 'bad reading',
        err: expect.objectContaining({ code: 'E_REDIS_WRONG_TYPE', message: expect.stringContaining(key) }),
      }),
    ]);
    pipeline.close();
  });

  it('makes the pipeline count each refused dead letter in deadLettersRefused, apart from those stored', async () => {
    const { store } = await storeOverString('counted');
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', () => {
      throw new Error('bad reading');
    });
    const { pipeline } = memoryPipeline(routes, { deadLetters: store });

    await pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 }));
    await pipeline.handle(fakeMessage('devices/d2/telemetry', { t: 2 }));

    expect(pipeline.stats).toMatchObject({ received: 2, handled: 2, deadLettered: 0, deadLettersRefused: 2 });
    pipeline.close();
  });
});
