/**
 * The job-record methods of the Redis driver and the Redis dead-letter store fail with
 * `E_REDIS_UNAVAILABLE` when Redis cannot be reached, like the rest of the driver, so that
 * callers (the CLI, the message pipeline's logs) see a typed error instead of ioredis's.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisUnavailableError } from '../../../core/errors.js';
import { RedisDeadLetterStore } from '../../../core/messaging/index.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { freePort } from '../../support/net.js';

let port: number;
let driver: RedisQueueDriver;
let redis: Redis;

beforeAll(async () => {
  port = await freePort();
  driver = new RedisQueueDriver({ connection: { port, host: '127.0.0.1', retryStrategy: () => 50 } });
  redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
});

afterAll(async () => {
  await driver.close();
  redis.disconnect();
});

const lease = { queue: 'q', id: 'j1', token: 't1' };

async function failure(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => new Error('resolved though Redis is down'),
    (error: unknown) => error,
  );
}

describe('RedisQueueDriver job records with Redis down', () => {
  it.each([
    ['clear', () => driver.clear('q')],
    ['getJob', () => driver.getJob('q', 'j1')],
    ['listJobs', () => driver.listJobs('q', 'queued', 0, 10)],
    ['cancel', () => driver.cancel('q', 'j1')],
    ['releaseHeld', () => driver.releaseHeld('q', 'j1')],
    ['listFailed', () => driver.listFailed('q', 0, 10)],
    ['retryFailed (ids)', () => driver.retryFailed('q', { ids: ['j1'] })],
    ['retryFailed (all)', () => driver.retryFailed('q', { all: true })],
    ['removeFailed (ids)', () => driver.removeFailed('q', { ids: ['j1'] })],
    ['removeFailed (before)', () => driver.removeFailed('q', { failedBefore: Date.now() })],
    // a worker's calls on the jobs it holds: it sends a hand-back again only on this error
    ['extend', () => driver.extend([lease], 30_000)],
    ['release', () => driver.release([lease])],
    ['progress', () => driver.progress(lease, 50, null)],
    ['fail', () => driver.fail({ lease, error: { message: 'boom' }, retryInMs: null })],
  ] as const)('%s rejects with E_REDIS_UNAVAILABLE naming the address', async (_name, call) => {
    const error = await failure(call);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });
});

describe('RedisDeadLetterStore with Redis down', () => {
  it.each([
    [
      'add',
      (store: RedisDeadLetterStore) => store.add({ topic: 't', payload: Buffer.from('x'), reason: 'r' }),
    ],
    ['list', (store: RedisDeadLetterStore) => store.list(10)],
    ['flush', (store: RedisDeadLetterStore) => store.flush()],
  ] as const)('%s rejects with E_REDIS_UNAVAILABLE naming the address', async (_name, call) => {
    const error = await failure(() => call(new RedisDeadLetterStore(redis, 'test-dead')));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });
});
