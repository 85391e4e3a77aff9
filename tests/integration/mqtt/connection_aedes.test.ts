import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type MqttConnectionOptions, type MqttMessage, MqttConnection } from '../../../core/mqtt/index.js';
import { freePort } from '../../support/net.js';
import {
  publisher,
  settleHeldUntil,
  sleep,
  startAedes,
  type TestBroker,
  uniqueNames,
  waitFor,
} from './mqtt_test_support.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function brokerOnFreePort(
  options: Parameters<typeof startAedes>[1] = {},
): Promise<TestBroker & { port: number }> {
  const port = await freePort();
  const broker = await startAedes(port, options);
  cleanups.push(() => broker.stop());
  return { ...broker, port };
}

function connection(options: Omit<MqttConnectionOptions, 'protocolVersion'>): MqttConnection {
  const built = new MqttConnection({ protocolVersion: 4, reconnect: { baseMs: 20, maxMs: 200 }, ...options });
  cleanups.push(() => built.close());
  return built;
}

async function publisherTo(url: string): Promise<MqttClient> {
  const client = await publisher(url, 4);
  cleanups.push(() => client.endAsync());
  return client;
}

describe('MqttConnection against aedes (MQTT 3.1.1)', () => {
  it('hands each message to the consumer with its topic, payload and flags', async () => {
    const { url } = await brokerOnFreePort();
    const { prefix, clientId } = uniqueNames('deliver');
    const received: MqttMessage[] = [];
    const subscriber = connection({ url, clientId, onMessage: (message) => void received.push(message) });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/+`, qos: 1 }]);
    const client = await publisherTo(url);
    await client.publishAsync(`${prefix}/a`, 'one', { qos: 1 });
    await client.publishAsync(`${prefix}/b`, Buffer.from([0, 255]), { qos: 0 });
    await waitFor(() => received.length === 2);
    expect(
      received.map(({ topic, payload, qos, retain, dup }) => ({ topic, payload, qos, retain, dup })),
    ).toEqual([
      { topic: `${prefix}/a`, payload: Buffer.from('one'), qos: 1, retain: false, dup: false },
      { topic: `${prefix}/b`, payload: Buffer.from([0, 255]), qos: 0, retain: false, dup: false },
    ]);
  });

  it('acknowledges in arrival order when the consumer finishes messages out of order', async () => {
    const { url, broker } = await brokerOnFreePort();
    const { prefix, clientId } = uniqueNames('order');
    const acked: string[] = [];
    broker.on('ack', (packet) => {
      if (packet && 'payload' in packet) acked.push(String(packet.payload));
    });
    const pending = new Map<string, () => void>();
    const subscriber = connection({
      url,
      clientId,
      onMessage: (message) => new Promise((resolve) => pending.set(message.payload.toString(), resolve)),
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await publisherTo(url);
    for (const payload of ['m1', 'm2', 'm3', 'm4']) client.publish(`${prefix}/x`, payload, { qos: 1 });
    await waitFor(() => pending.size === 4);
    pending.get('m3')?.();
    pending.get('m2')?.();
    await sleep(50);
    expect(acked).toEqual([]); // m1 still pending, so nothing may be acknowledged
    pending.get('m1')?.();
    await waitFor(() => acked.length === 3);
    expect(acked).toEqual(['m1', 'm2', 'm3']);
    pending.get('m4')?.();
    await waitFor(() => acked.length === 4);
    expect(acked).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('withholds the acknowledgement until the consumer resolves, so a message survives the app dying', async () => {
    const { url } = await brokerOnFreePort();
    const { prefix, clientId } = uniqueNames('redeliver');
    const first: MqttMessage[] = [];
    const stuck = connection({
      url,
      clientId,
      onMessage: (message) => new Promise(() => void first.push(message)),
    });
    await stuck.connect();
    await stuck.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await publisherTo(url);
    await client.publishAsync(`${prefix}/x`, 'keep me', { qos: 1 });
    await waitFor(() => first.length === 1);
    await stuck.close();

    const again: MqttMessage[] = [];
    const revived = connection({ url, clientId, onMessage: (message) => void again.push(message) });
    await revived.connect();
    await waitFor(() => again.length === 1);
    expect(again[0]).toMatchObject({ topic: `${prefix}/x`, payload: Buffer.from('keep me') });
  });

  it('acknowledges a message whose consumer rejected, so it is not redelivered', async () => {
    const { url } = await brokerOnFreePort();
    const { prefix, clientId } = uniqueNames('reject');
    let calls = 0;
    const failing = connection({
      url,
      clientId,
      onMessage: async () => {
        calls += 1;
        throw new Error('handler bug');
      },
    });
    await failing.connect();
    await failing.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await publisherTo(url);
    await client.publishAsync(`${prefix}/x`, 'bad', { qos: 1 });
    await waitFor(() => calls === 1 && failing.inFlight === 0);
    await failing.close();

    const again: MqttMessage[] = [];
    const revived = connection({ url, clientId, onMessage: (message) => void again.push(message) });
    await revived.connect();
    await sleep(200);
    expect(again).toEqual([]);
  });

  it('stops reading when maxInFlight messages are unacknowledged and resumes as they settle', async () => {
    const { url } = await brokerOnFreePort();
    const { prefix, clientId } = uniqueNames('window');
    const held: Array<() => void> = [];
    let delivered = 0;
    const subscriber = connection({
      url,
      clientId,
      maxInFlight: 5,
      onMessage: () => {
        delivered += 1;
        return new Promise((resolve) => held.push(resolve));
      },
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await publisherTo(url);
    for (let index = 0; index < 20; index += 1) client.publish(`${prefix}/x`, String(index), { qos: 1 });
    await waitFor(() => delivered === 5);
    await sleep(200);
    expect(delivered).toBe(5); // aedes sends more, but the client stopped reading
    expect(subscriber.inFlight).toBe(5);
    await settleHeldUntil(held, () => delivered >= 20);
    expect(delivered).toBe(20);
    await waitFor(() => subscriber.inFlight === 0);
  });

  it('never hands over messages still queued from a connection that has closed', async () => {
    const { url, broker, stop } = await brokerOnFreePort();
    const { prefix, clientId } = uniqueNames('stale');
    let delivered = 0;
    const subscriber = connection({
      url,
      clientId,
      maxInFlight: 2,
      onMessage: () => {
        delivered += 1;
        return new Promise(() => {});
      },
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    // Published inside the broker in one go, so they reach the client in one TCP read and
    // wait, parsed, behind the two messages that fill maxInFlight.
    for (let index = 0; index < 20; index += 1) {
      broker.publish(
        {
          cmd: 'publish',
          topic: `${prefix}/x`,
          payload: Buffer.from(String(index)),
          qos: 1,
          retain: false,
          dup: false,
        },
        () => {},
      );
    }
    await waitFor(() => delivered === 2);
    await sleep(50);
    await stop();
    await waitFor(() => !subscriber.isOnline);
    await sleep(100);
    expect(delivered).toBe(2);
  });

  it('resubscribes after the broker restarts without the session and loses no later QoS 1 message', async () => {
    const port = await freePort();
    let broker = await startAedes(port);
    cleanups.push(() => broker.stop());
    const { prefix, clientId } = uniqueNames('restart');
    const received: string[] = [];
    const subscriber = connection({
      url: broker.url,
      clientId,
      onMessage: (message) => void received.push(message.payload.toString()),
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);

    await broker.stop();
    await waitFor(() => !subscriber.isOnline, 5000, 'the connection to notice the broker is gone');
    const publishedDuringOutage = subscriber.publish(`${prefix}/outbox`, 'sent while down', { qos: 1 });
    broker = await startAedes(port); // in-memory persistence: the session is gone
    await subscriber.whenOnline();
    await publishedDuringOutage; // kept in the outgoing store and resent after the reconnect

    const client = await publisherTo(broker.url);
    const sent = Array.from({ length: 200 }, (_, index) => `after-${index}`);
    await Promise.all(sent.map((payload) => client.publishAsync(`${prefix}/x`, payload, { qos: 1 })));
    await waitFor(() => received.length >= sent.length, 10_000, 'every message published after the restart');
    expect(received).toEqual(sent);
  });

  it('acknowledges what the consumer finishes while close() drains, and leaves the rest for redelivery', async () => {
    const { url } = await brokerOnFreePort();
    const { prefix, clientId } = uniqueNames('drain');
    const pending: Array<() => void> = [];
    const draining = connection({
      url,
      clientId,
      onMessage: () => new Promise((resolve) => pending.push(resolve)),
    });
    await draining.connect();
    await draining.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await publisherTo(url);
    for (const payload of ['done-1', 'done-2']) await client.publishAsync(`${prefix}/x`, payload, { qos: 1 });
    await waitFor(() => pending.length === 2);
    const closed = draining.close({ drainTimeoutMs: 2000 });
    await client.publishAsync(`${prefix}/x`, 'late', { qos: 1 });
    await sleep(50);
    expect(pending).toHaveLength(2); // 'late' arrived while draining and was not handed over
    for (const resolve of pending.splice(0)) resolve();
    await closed;

    const again: MqttMessage[] = [];
    const revived = connection({ url, clientId, onMessage: (message) => void again.push(message) });
    await revived.connect();
    await waitFor(() => again.length === 1);
    await sleep(100);
    expect(again.map((message) => message.payload.toString())).toEqual(['late']);
  });
});
