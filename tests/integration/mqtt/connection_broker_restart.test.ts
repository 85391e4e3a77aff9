/**
 * A connection to a Mosquitto that saves its sessions (`persistence true`, as the shipped config
 * has) and restarts: it comes back with the app's session (CONNACK sessionPresent), which
 * Mosquitto 2.0 restores without its shared subscriptions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttConnection } from '../../../core/mqtt/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { startPrivateMosquitto } from '../../support/private_mosquitto.js';
import { publisher, uniqueNames, waitFor } from './mqtt_test_support.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('MqttConnection against a persistent Mosquitto that restarts', () => {
  it('receives on its shared and plain filters again once the broker is back with its session', async () => {
    const broker = await startPrivateMosquitto({ persistence: true });
    cleanups.push(() => broker.dispose());
    const { prefix, clientId } = uniqueNames('persisted');
    const received: string[] = [];
    const log = capturingLogger('info');
    const connection = new MqttConnection({
      url: broker.url,
      clientId,
      reconnect: { baseMs: 20, maxMs: 200 },
      logger: log.logger,
      onMessage: (message) => {
        received.push(`${message.topic} ${message.payload.toString()}`);
      },
    });
    cleanups.push(() => connection.close());
    await connection.connect();
    await connection.subscribe([
      { filter: `$share/g/${prefix}/shared/+`, qos: 1 },
      { filter: `${prefix}/plain/+`, qos: 1 },
    ]);
    const send = async (topic: string, text: string, retain = false) => {
      const client = await publisher(broker.url, 5);
      await client.publishAsync(`${prefix}/${topic}`, text, { qos: 1, retain });
      await client.endAsync();
    };
    await send('shared/1', 'before');
    // a retained message (a device's last status, say): handled once, not again at each resubscribe
    // (Mosquitto before 2.0.13 sends a shared subscription the retained messages on every SUBSCRIBE)
    await send('shared/status', 'retained', true);
    cleanups.push(() => send('shared/status', '', true).catch(() => {}));
    await waitFor(() => received.length === 2);
    // acknowledged before the stop: else the broker sends the retained one again with its
    // session (at least once), which this test would take for a retained replay
    await waitFor(() => connection.inFlight === 0);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the PUBACKs reach the broker

    await broker.stop(); // saves the session, with both subscriptions
    const before = received.length;
    await broker.start();
    await waitFor(() => connection.isOnline, 10_000, 'the connection to come back');
    // the broker kept the session: nothing told the connection to subscribe again
    expect(log.lines.filter((line) => line.msg === 'connected to MQTT broker').at(-1)).toMatchObject({
      sessionPresent: true,
      reconnected: true,
    });
    // sent until one arrives (one sent before the resubscribe landed is dropped by the broker)
    const deadline = Date.now() + 5000;
    while (!received.slice(before).some((entry) => entry.includes('/shared/')) && Date.now() < deadline) {
      await send('shared/1', 'after');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await send('plain/1', 'after');
    await waitFor(
      () => received.slice(before).some((entry) => entry.includes('/plain/')),
      5000,
      'the plain one',
    );
    expect(received.filter((entry) => entry.endsWith(' retained'))).toHaveLength(1);
    expect([...new Set(received.slice(before))].sort()).toEqual([
      `${prefix}/plain/1 after`,
      `${prefix}/shared/1 after`,
    ]);
  });

  it('gets no retained message on a shared filter it subscribes, as MQTT 5 has it, though Mosquitto 2.0.11 sends them', async () => {
    const broker = await startPrivateMosquitto();
    cleanups.push(() => broker.dispose());
    const { prefix, clientId } = uniqueNames('retained');
    const client = await publisher(broker.url, 5);
    await client.publishAsync(`${prefix}/shared/status`, 'retained', { qos: 1, retain: true });
    await client.publishAsync(`${prefix}/plain/status`, 'retained', { qos: 1, retain: true });
    await client.endAsync();
    const received: string[] = [];
    const connection = new MqttConnection({
      url: broker.url,
      clientId,
      onMessage: (message) => {
        received.push(message.topic);
      },
    });
    cleanups.push(() => connection.close());
    await connection.connect();
    await connection.subscribe([
      { filter: `$share/g/${prefix}/shared/+`, qos: 1 },
      { filter: `${prefix}/plain/+`, qos: 1 },
    ]);
    // a plain filter gets its retained message (as ever): once it came, the shared one would have
    await waitFor(() => received.includes(`${prefix}/plain/status`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([`${prefix}/plain/status`]);
  });
});
