/**
 * `Server.stop()` called while `start()` is still under way: the start must not go on to run
 * a worker on the application the stop closes, nor leave the job-events bridge subscribed.
 * Redis is a private server the test pauses (CLIENT PAUSE), so the bridge's subscription
 * hangs while the stop comes.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../../bootstrap/server.js';
import { freePort } from '../../support/net.js';
import { startPrivateRedis } from '../../support/private_redis.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('Server stopped while it starts', () => {
  it('starts no worker once stopped while the job-events bridge subscribes', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(redis.stop);
    const server = await createServer({
      env: {
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        QUEUE_PREFIX: `stop-start-${randomBytes(4).toString('hex')}`,
        LOG_LEVEL: 'silent',
        MQTT_BROKER_HOST: '127.0.0.1',
        MQTT_BROKER_PORT: String(await freePort()),
        JOB_EVENTS_TOPIC: 'on',
        QUEUE_SHUTDOWN_GRACE_MS: '500',
      },
    });
    const pauser = new Redis({ port: redis.port });
    cleanups.push(() => pauser.disconnect());
    await pauser.call('CLIENT', 'PAUSE', '800', 'ALL'); // the bridge's SUBSCRIBE waits for it

    const started = server.start({ workers: { queues: 'default' } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await server.stop();
    await started;

    expect(server.workers).toHaveLength(0);
  });
});
