/**
 * A gateway stopping on Mosquitto lets the messages it is handling finish, so their
 * acknowledgements go out and the broker does not deliver them again to the next run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqttConfig from '../../../config/mqtt.js';
import { createLogger, type Logger } from '../../../core/logger.js';
import { MqttGateway } from '../../../core/messaging/mqtt_gateway.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { discardSession } from '../../support/mqtt_sessions.js';
import { mosquittoUrl, publisher, sleep, uniqueNames, waitFor } from './mqtt_test_support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Gateways of one client id on Mosquitto, subscribed to `<prefix>/+` at QoS 1, each stopped
 * after the test, the session discarded; `gateway()` makes the next run of the app.
 */
function gateways(name: string, log: Logger) {
  const { prefix, clientId } = uniqueNames(name);
  const settings = mqttConfig.read({ MQTT_URL: mosquittoUrl, MQTT_CLIENT_ID: clientId });
  cleanups.push(() => discardSession(mosquittoUrl, clientId, 5));
  const gateway = () => {
    const built = new MqttGateway({ settings, subscriptions: [{ filter: `${prefix}/+`, qos: 1 }], log });
    cleanups.push(() => built.stop());
    return built;
  };
  return { prefix, gateway };
}

describe('a gateway stopping', () => {
  it('acknowledges the message it was handling when given time to drain, so the next run gets it not again', async () => {
    const { prefix, gateway } = gateways('drain', createLogger({ level: 'silent' }));

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

  it('leaves a message unacknowledged when its consumer fails after the drain began (its store closed), so the next run gets it', async () => {
    const log = capturingLogger('info');
    const { prefix, gateway } = gateways('held', log.logger);

    let fail = (_error: Error) => {};
    const first: string[] = [];
    const earlier = gateway();
    await earlier.start(async (message) => {
      first.push(message.topic);
      // its jobs wait for Redis, which is away, until the app's stop closes the store
      await new Promise<void>((_resolve, reject) => {
        fail = reject;
      });
    });
    const client = await publisher(mosquittoUrl, 5);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(`${prefix}/x`, 'reading', { qos: 1 });
    await waitFor(() => first.length === 1);

    await earlier.stopIntake({ drainTimeoutMs: 200 }); // the drain ends with the message held
    fail(new Error('the pipeline was closed before the message was stored'));
    await sleep(300); // the connection stays open while the workers stop
    await earlier.stop();

    const again: string[] = [];
    const later = gateway();
    await later.start(async (message) => void again.push(message.topic));
    await waitFor(() => again.length === 1);
    expect(again).toEqual([`${prefix}/x`]);
    expect(log.events('mqtt.message_held_at_stop')).toHaveLength(1);
    expect(log.events('mqtt.consumer_failed')).toEqual([]);
  });

  it('acknowledges a message whose consumer fails while the gateway runs, so it does not come back forever', async () => {
    const log = capturingLogger('info');
    const { prefix, gateway } = gateways('failing', log.logger);
    const earlier = gateway();
    await earlier.start(async () => {
      throw new Error('a bug in a route');
    });
    const client = await publisher(mosquittoUrl, 5);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(`${prefix}/x`, 'reading', { qos: 1 });
    await waitFor(() => log.events('mqtt.consumer_failed').length === 1);
    await earlier.stop({ drainTimeoutMs: 1000 });

    const again: string[] = [];
    const later = gateway();
    await later.start(async (message) => void again.push(message.topic));
    await sleep(500); // a message left unacknowledged comes at once with the session
    expect(again).toEqual([]);
  });
});
