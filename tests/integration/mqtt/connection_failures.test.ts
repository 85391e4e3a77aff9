import { afterEach, describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import {
  type MqttConnectionOptions,
  MqttConnection,
  SubscriptionRefusedError,
} from '../../../core/mqtt/index.js';
import { freePort } from '../../support/net.js';
import { startAedes, uniqueNames } from './mqtt_test_support.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function brokerOnFreePort(options: Parameters<typeof startAedes>[1] = {}): Promise<{ url: string }> {
  const broker = await startAedes(await freePort(), options);
  cleanups.push(() => broker.stop());
  return broker;
}

function connection(options: Omit<MqttConnectionOptions, 'protocolVersion'>): MqttConnection {
  const built = new MqttConnection({ protocolVersion: 4, reconnect: { baseMs: 20, maxMs: 200 }, ...options });
  cleanups.push(() => built.close());
  return built;
}

describe('MqttConnection failures', () => {
  it('rejects with SubscriptionRefusedError naming the filter the broker refused', async () => {
    const { url } = await brokerOnFreePort({
      authorizeSubscribe: (_client, subscription, callback) =>
        // A null subscription makes aedes answer SUBACK 0x80 (an error would drop the client).
        callback(null, subscription.topic.includes('forbidden') ? null : subscription),
    });
    const { prefix, clientId } = uniqueNames('refused');
    const subscriber = connection({ url, clientId, onMessage: () => {} });
    await subscriber.connect();
    const attempt = subscriber.subscribe([
      { filter: `${prefix}/allowed`, qos: 1 },
      { filter: `${prefix}/forbidden`, qos: 1 },
    ]);
    await expect(attempt).rejects.toBeInstanceOf(SubscriptionRefusedError);
    await expect(attempt).rejects.toMatchObject({
      refused: [{ filter: `${prefix}/forbidden`, reasonCode: 0x80 }],
    });
  });

  it('fails fast with advice to use protocolVersion 4 when the broker does not speak MQTT 5', async () => {
    const { url } = await brokerOnFreePort();
    const { clientId } = uniqueNames('v5');
    const subscriber = new MqttConnection({ url, clientId, onMessage: () => {}, connectTimeoutMs: 5000 });
    cleanups.push(() => subscriber.close());
    const started = Date.now();
    const error = await subscriber.connect().catch((caught: unknown) => caught);
    expect(isTopiqError(error, 'E_BROKER_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('set MQTT_PROTOCOL_VERSION=4');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects with BrokerUnavailableError within the timeout when nothing listens on the port', async () => {
    const port = await freePort();
    const { clientId } = uniqueNames('nobody');
    const subscriber = connection({
      url: `mqtt://127.0.0.1:${port}`,
      clientId,
      connectTimeoutMs: 600,
      onMessage: () => {},
    });
    const started = Date.now();
    const error = await subscriber.connect().catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    expect(isTopiqError(error, 'E_BROKER_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain(`mqtt://127.0.0.1:${port}`);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(1500);
  });
});
