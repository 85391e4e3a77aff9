/**
 * `serve` with job events on MQTT, against a Redis that accepts connections and answers
 * nothing (a hung server, a link that drops packets after the handshake): it starts, its
 * subscription to job events failing and tried again in the background, instead of waiting
 * for ever on an unanswered SUBSCRIBE.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../../bootstrap/server.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { freePort } from '../../support/net.js';
import { TcpProxy } from '../../support/tcp_proxy.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('serve against a Redis that accepts connections and answers nothing', () => {
  it('starts, with its job-event subscription tried again in the background', async () => {
    const proxy = await TcpProxy.start(6379);
    cleanups.push(() => proxy.close());
    proxy.freeze();
    const log = capturingLogger('info');
    const server = await createServer({
      env: {
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        QUEUE_PREFIX: `topiq-test-silent-${randomBytes(4).toString('hex')}`,
        LOG_LEVEL: 'info',
        MQTT_BROKER_HOST: '127.0.0.1',
        MQTT_BROKER_PORT: String(await freePort()),
        JOB_EVENTS_TOPIC: 'on',
        QUEUE_SHUTDOWN_GRACE_MS: '500',
      },
      log: log.logger,
    });
    const started = server.start({ workers: { queues: 'default' } });
    cleanups.push(async () => {
      await server.stop();
      await started;
    });
    await started;
    expect(log.events('server.started')).toHaveLength(1);
    expect(log.events('job_events.bridge_failed').length).toBeGreaterThanOrEqual(1);
  });
});
