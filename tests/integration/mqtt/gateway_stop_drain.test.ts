/**
 * A gateway stopping on Mosquitto lets the messages it is handling finish, so their
 * acknowledgements go out and the broker does not deliver them again to the next run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqttConfig from '../../../config/mqtt.js';
import { createLogger } from '../../../core/logger.js';
import { MqttGateway } from '../../../core/messaging/mqtt_gateway.js';
import { discardSession } from '../../support/mqtt_sessions.js';
import { mosquittoUrl, publisher, sleep, uniqueNames, waitFor } from './mqtt_test_support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a gateway stopping', () => {
  it('acknowledges the message it was handling when given time to drain, so the next run gets it not again', async () => {
    const { prefix, clientId } = uniqueNames('drain');
    const settings = mqttConfig.read({ MQTT_URL: mosquittoUrl, MQTT_CLIENT_ID: clientId });
    const log = createLogger({ level: 'silent' });
    cleanups.push(() => discardSession(mosquittoUrl, clientId, 5));
    const gateway = () => {
      const built = new MqttGateway({ settings, subscriptions: [{ filter: `${prefix}/+`, qos: 1 }], log });
      cleanups.push(() => built.stop());
      return built;
    };

    let release = () => {};
    const handled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first: string[] = [];
    const earlier = gateway();
    await earlier.start(async (message) => {
      first.push(message.topic);
      await handled; // its jobs being stored, say, while the app is told to stop
    });
    const client = await publisher(mosquittoUrl, 5);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(`${prefix}/x`, 'reading', { qos: 1 });
    await waitFor(() => first.length === 1);

    const stopping = earlier.stop({ drainTimeoutMs: 3000 });
    await sleep(200);
    release();
    await stopping;

    const again: string[] = [];
    const later = gateway();
    await later.start(async (message) => void again.push(message.topic));
    await sleep(500); // a message left unacknowledged comes at once with the session
    expect(again).toEqual([]);
  });
});
