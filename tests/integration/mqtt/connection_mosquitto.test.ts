import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type MqttConnectionOptions, type MqttMessage, MqttConnection } from '../../../core/mqtt/index.js';
import { discardSession } from '../../support/mqtt_sessions.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { startPrivateMosquitto } from '../../support/private_mosquitto.js';
import { TcpProxy } from '../../support/tcp_proxy.js';
import {
  mosquittoUrl,
  publisher,
  settleHeldUntil,
  sleep,
  staysOnline,
  uniqueNames,
  waitFor,
} from './mqtt_test_support.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Builds a connection to Mosquitto; its persistent session is discarded after the test. */
function connection(options: Omit<MqttConnectionOptions, 'url'>): MqttConnection {
  const built = new MqttConnection({ url: mosquittoUrl, reconnect: { baseMs: 20, maxMs: 200 }, ...options });
  cleanups.push(async () => {
    await built.close();
    await discardSession(mosquittoUrl, options.clientId, 5);
  });
  return built;
}

async function mosquittoPublisher(): Promise<MqttClient> {
  const client = await publisher(mosquittoUrl, 5);
  cleanups.push(() => client.endAsync());
  return client;
}

function payloads(messages: MqttMessage[]): string[] {
  return messages.map((message) => message.payload.toString());
}

describe('MqttConnection against Mosquitto (MQTT 5)', () => {
  it('hands the consumer each message with its MQTT 5 properties', async () => {
    const { prefix, clientId } = uniqueNames('props');
    const received: MqttMessage[] = [];
    const subscriber = connection({ clientId, onMessage: (message) => void received.push(message) });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    await client.publishAsync(`${prefix}/device-7/up`, '{"t":21.5}', {
      qos: 1,
      properties: {
        responseTopic: `${prefix}/device-7/down`,
        correlationData: Buffer.from('req-42'),
        userProperties: { tenant: 'acme', tag: ['a', 'b'] },
        contentType: 'application/json',
        messageExpiryInterval: 300,
        payloadFormatIndicator: true,
      },
    });
    await waitFor(() => received.length === 1);
    const [message] = received;
    expect(message).toMatchObject({ topic: `${prefix}/device-7/up`, qos: 1, retain: false, dup: false });
    expect(message?.payload.toString()).toBe('{"t":21.5}');
    expect(message?.properties).toMatchObject({
      responseTopic: `${prefix}/device-7/down`,
      correlationData: Buffer.from('req-42'),
      userProperties: { tenant: 'acme', tag: ['a', 'b'] },
      contentType: 'application/json',
      payloadFormatIndicator: true,
    });
    expect(message?.properties.messageExpiryInterval).toBeGreaterThan(290);
  });

  it('marks a retained message as retained', async () => {
    const { prefix, clientId } = uniqueNames('retain');
    const client = await mosquittoPublisher();
    await client.publishAsync(`${prefix}/state`, 'on', { qos: 1, retain: true });
    cleanups.push(
      async () => void (await client.publishAsync(`${prefix}/state`, '', { qos: 1, retain: true })),
    );
    const received: MqttMessage[] = [];
    const subscriber = connection({ clientId, onMessage: (message) => void received.push(message) });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/state`, qos: 1 }]);
    await waitFor(() => received.length === 1);
    expect(received[0]).toMatchObject({ retain: true, payload: Buffer.from('on') });
  });

  it('withholds the acknowledgement until the consumer resolves, so Mosquitto redelivers after a crash', async () => {
    const { prefix, clientId } = uniqueNames('redeliver');
    const first: MqttMessage[] = [];
    const stuck = connection({
      clientId,
      onMessage: (message) => new Promise(() => void first.push(message)),
    });
    await stuck.connect();
    await stuck.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    await client.publishAsync(`${prefix}/x`, 'keep me', { qos: 1 });
    await waitFor(() => first.length === 1);
    await stuck.close();

    const again: MqttMessage[] = [];
    const revived = connection({ clientId, onMessage: (message) => void again.push(message) });
    await revived.connect(); // no subscribe: the session kept the subscription
    await waitFor(() => again.length === 1);
    expect(again[0]).toMatchObject({ topic: `${prefix}/x`, payload: Buffer.from('keep me'), dup: true });
  });

  it('holds back acknowledgements of finished messages behind an unfinished earlier one', async () => {
    const { prefix, clientId } = uniqueNames('order');
    const pending = new Map<string, () => void>();
    const first = connection({
      clientId,
      onMessage: (message) => new Promise((resolve) => pending.set(message.payload.toString(), resolve)),
    });
    await first.connect();
    await first.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    for (const payload of ['m1', 'm2', 'm3']) await client.publishAsync(`${prefix}/x`, payload, { qos: 1 });
    await waitFor(() => pending.size === 3);
    pending.get('m2')?.();
    pending.get('m3')?.();
    await sleep(100);
    expect(first.inFlight).toBe(3); // m2 and m3 are done, but their PUBACKs wait for m1
    await first.close();

    const redelivered: MqttMessage[] = [];
    const second = connection({ clientId, onMessage: (message) => void redelivered.push(message) });
    await second.connect();
    await waitFor(() => redelivered.length === 3);
    expect(payloads(redelivered)).toEqual(['m1', 'm2', 'm3']);
    await waitFor(() => second.inFlight === 0);
    await second.close();

    const third: MqttMessage[] = [];
    const after = connection({ clientId, onMessage: (message) => void third.push(message) });
    await after.connect();
    await sleep(200);
    expect(third).toEqual([]); // everything was acknowledged by the second connection
  });

  it('keeps queuing for the app while it is down, and delivers on reconnect without subscribing again', async () => {
    const { prefix, clientId } = uniqueNames('offline');
    const subscriber = connection({ clientId, onMessage: () => {} });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    await subscriber.close();
    const client = await mosquittoPublisher();
    for (const payload of ['a', 'b', 'c']) await client.publishAsync(`${prefix}/x`, payload, { qos: 1 });

    const received: MqttMessage[] = [];
    const revived = connection({ clientId, onMessage: (message) => void received.push(message) });
    await revived.connect();
    await waitFor(() => received.length === 3);
    expect(payloads(received)).toEqual(['a', 'b', 'c']);
  });

  it('subscribes again when a resubscribe was cut off, though the next CONNACK says a session is present', async () => {
    const { prefix, clientId } = uniqueNames('resub');
    const proxy = await TcpProxy.start(1883);
    cleanups.push(() => proxy.close());
    const received: MqttMessage[] = [];
    const subscriber = new MqttConnection({
      url: `mqtt://127.0.0.1:${proxy.port}`,
      clientId,
      reconnect: { baseMs: 20, maxMs: 200 },
      onMessage: (message) => void received.push(message),
    });
    cleanups.push(async () => {
      await subscriber.close();
      await discardSession(mosquittoUrl, clientId, 5);
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    await proxy.cut(); // the app is away while the broker loses its session
    await discardSession(mosquittoUrl, clientId, 5);
    // the next connection resubscribes, but its SUBSCRIBE is lost with it; the broker made an
    // empty session for the client at that CONNECT, so the CONNACK after says "present"
    const resubscribeCut = proxy.cutOn((chunk) => (chunk[0]! & 0xf0) === 0x80);
    await proxy.restore();
    await resubscribeCut;
    await waitFor(() => subscriber.isOnline);
    const client = await mosquittoPublisher();
    await client.publishAsync(`${prefix}/x`, 'after', { qos: 1 });
    await waitFor(() => received.length === 1);
    expect(payloads(received)).toEqual(['after']);
  });

  it('completes QoS 2 messages once the consumer resolves, so they are not delivered again', async () => {
    const { prefix, clientId } = uniqueNames('qos2');
    const received: MqttMessage[] = [];
    const subscriber = connection({ clientId, onMessage: async (message) => void received.push(message) });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 2 }]);
    const client = await mosquittoPublisher();
    for (const payload of ['q1', 'q2']) await client.publishAsync(`${prefix}/x`, payload, { qos: 2 });
    await waitFor(() => received.length === 2 && subscriber.inFlight === 0);
    expect(received.map((message) => [message.payload.toString(), message.qos])).toEqual([
      ['q1', 2],
      ['q2', 2],
    ]);
    await subscriber.close();

    const again: MqttMessage[] = [];
    const revived = connection({ clientId, onMessage: (message) => void again.push(message) });
    await revived.connect();
    await sleep(200);
    expect(again).toEqual([]);
  });

  it('receives through a shared subscription and publishes with QoS 1', async () => {
    const { prefix, clientId } = uniqueNames('share');
    const received: MqttMessage[] = [];
    const subscriber = connection({ clientId, onMessage: (message) => void received.push(message) });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `$share/ingest/${prefix}/+/up`, qos: 1 }]);
    await subscriber.publish(`${prefix}/d1/up`, 'hello', {
      qos: 1,
      properties: { contentType: 'text/plain', userProperties: { via: 'topiq' } },
    });
    await waitFor(() => received.length === 1);
    expect(received[0]).toMatchObject({
      topic: `${prefix}/d1/up`,
      properties: { contentType: 'text/plain', userProperties: { via: 'topiq' } },
    });
  });

  it('holds at most twice maxInFlight unacknowledged, though Mosquitto oversteps the Receive Maximum it is told', async () => {
    const { prefix, clientId } = uniqueNames('window');
    const held: Array<() => void> = [];
    let delivered = 0;
    let mostHeld = 0;
    const subscriber = connection({
      clientId,
      maxInFlight: 3,
      onMessage: () => {
        delivered += 1;
        return new Promise((resolve) => {
          held.push(resolve);
          mostHeld = Math.max(mostHeld, held.length);
        });
      },
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    for (let index = 0; index < 10; index += 1)
      await client.publishAsync(`${prefix}/x`, String(index), { qos: 1 });
    await waitFor(() => delivered === 3);
    await sleep(150);
    expect(delivered).toBe(3);
    await settleHeldUntil(held, () => delivered >= 10);
    expect(delivered).toBe(10);
    // Mosquitto 2.0.11 fills the window of 3 at first, but sends up to 6 unacknowledged once
    // acknowledgements come back; reading stops at twice the Receive Maximum
    expect(mostHeld).toBeLessThanOrEqual(6);
    await waitFor(() => subscriber.inFlight === 0);
  });

  it('keeps reading with a full Receive Maximum window held, so keepalive pings are answered and the connection stays', async () => {
    const { prefix, clientId } = uniqueNames('fullwindow');
    const held: Array<() => void> = [];
    let delivered = 0;
    const subscriber = connection({
      clientId,
      maxInFlight: 5,
      keepaliveSeconds: 1, // mqtt.js gives up after 1.5 s without reading a PINGRESP
      onMessage: () => {
        delivered += 1;
        return new Promise((resolve) => held.push(resolve)); // Redis away: nothing settles
      },
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    for (let index = 0; index < 20; index += 1)
      await client.publishAsync(`${prefix}/x`, String(index), { qos: 1 });
    await waitFor(() => delivered === 5);
    expect(await staysOnline(subscriber, 3500)).toBe(true);
    expect(delivered).toBe(5); // not the same five again after a reconnect
    await settleHeldUntil(held, () => delivered >= 20);
    expect(delivered).toBe(20);
    await waitFor(() => subscriber.inFlight === 0);
  });

  it('does not hand over again a message the broker resends after a reconnect while its first copy is handled', async () => {
    const { prefix, clientId } = uniqueNames('resent');
    const proxy = await TcpProxy.start(1883);
    cleanups.push(() => proxy.close());
    const held: Array<() => void> = [];
    const received: MqttMessage[] = [];
    const subscriber = new MqttConnection({
      url: `mqtt://127.0.0.1:${proxy.port}`,
      clientId,
      maxInFlight: 5,
      reconnect: { baseMs: 20, maxMs: 200 },
      onMessage: (message) => {
        received.push(message);
        return new Promise((resolve) => held.push(resolve));
      },
    });
    cleanups.push(async () => {
      await subscriber.close();
      await discardSession(mosquittoUrl, clientId, 5);
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    for (let index = 0; index < 3; index += 1)
      await client.publishAsync(`${prefix}/x`, String(index), { qos: 1 });
    await waitFor(() => received.length === 3);

    await proxy.cut(); // the first copies are still being handled
    await proxy.restore();
    await waitFor(() => subscriber.isOnline);
    await waitFor(() => subscriber.inFlight === 3); // the broker sent the three again
    await sleep(100);
    expect(payloads(received)).toEqual(['0', '1', '2']);

    for (const resolve of held.splice(0)) resolve(); // the first copies settle: both acknowledged
    await waitFor(() => subscriber.inFlight === 0);
    await client.publishAsync(`${prefix}/x`, 'after', { qos: 1 });
    await waitFor(() => received.length === 4);
    for (const resolve of held.splice(0)) resolve();
    await sleep(100);
    expect(payloads(received)).toEqual(['0', '1', '2', 'after']);
  });

  it('backs off between takeovers when another client uses its id, instead of starting over after each CONNACK', async () => {
    const { prefix, clientId } = uniqueNames('takeover');
    const logs = [capturingLogger('info'), capturingLogger('info')];
    const twins = logs.map(
      (log) =>
        new MqttConnection({
          url: mosquittoUrl,
          clientId, // the same id: Mosquitto ends the older connection each time the other connects
          reconnect: { baseMs: 20, maxMs: 1_000 },
          logger: log.logger,
          onMessage: () => {},
        }),
    );
    cleanups.push(async () => {
      for (const twin of twins) await twin.close();
      await discardSession(mosquittoUrl, clientId, 5);
    });
    await twins[0]!.connect();
    await twins[0]!.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    await twins[1]!.connect();
    await sleep(3_000);

    const reconnects = logs.map(
      (log) => log.lines.filter((line) => line.msg === 'reconnecting to MQTT broker').length,
    );
    // starting over at 20 ms after each CONNACK, each made over 60 in 3 s (136 in all, seen);
    // backing off, waits grow towards 1 s (17 in all, seen)
    expect(reconnects.reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    for (const count of reconnects) expect(count).toBeLessThan(30);
  });

  it('hands over a new QoS 2 message that a restarted broker, its session lost, gives a packet id still in use', async () => {
    const broker = await startPrivateMosquitto();
    cleanups.push(() => broker.dispose());
    const { prefix, clientId } = uniqueNames('qos2lost');
    const received: string[] = [];
    const subscriber = new MqttConnection({
      url: broker.url,
      clientId,
      reconnect: { baseMs: 20, maxMs: 200 },
      onMessage: (message) => {
        received.push(message.payload.toString());
        return new Promise(() => {}); // Redis away: the first press is never settled
      },
    });
    cleanups.push(() => subscriber.close());
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 2 }]);
    const press = async () => {
      const client = await publisher(broker.url, 5);
      await client.publishAsync(`${prefix}/button`, 'pressed', { qos: 2 });
      await client.endAsync();
    };
    await press();
    await waitFor(() => received.length === 1);

    await broker.stop(); // no persistence: the session, and its packet ids, are gone
    await broker.start();
    await waitFor(() => subscriber.isOnline, 5000, 'the connection to resubscribe');
    await press(); // a second press, the same topic and payload, numbered from 1 again

    await waitFor(() => received.length === 2, 5000, 'the second press to reach the consumer');
    expect(received).toEqual(['pressed', 'pressed']);
  });

  it('keeps a connection whose reading it holds alive through an outage that starts mid-stream, and hands each message over once', async () => {
    const { prefix, clientId } = uniqueNames('midstream');
    const held: Array<() => void> = [];
    const received: string[] = [];
    const subscriber = connection({
      clientId,
      maxInFlight: 5,
      keepaliveSeconds: 1, // mqtt.js gives up after 1.5 s without reading a PINGRESP
      onMessage: (message) => {
        received.push(message.payload.toString());
        // the first 20 are stored at once; then Redis goes away and nothing settles
        if (received.length <= 20) return;
        return new Promise((resolve) => held.push(resolve));
      },
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    const sent = Array.from({ length: 60 }, (_, index) => String(index));
    for (const payload of sent) await client.publishAsync(`${prefix}/x`, payload, { qos: 1 });
    // with acknowledgements flowing, Mosquitto 2.0.11 sends past the Receive Maximum, up to the
    // point where Topiq stops reading
    await waitFor(() => subscriber.inFlight >= 10, 5000, 'reading to stop at twice maxInFlight');
    expect(await staysOnline(subscriber, 3500)).toBe(true);
    await settleHeldUntil(held, () => received.length >= sent.length);
    expect(received).toEqual(sent);
    await waitFor(() => subscriber.inFlight === 0);
  });

  it('still drops a held connection whose broker went silent, as mqtt.js would unheld', async () => {
    const { prefix, clientId } = uniqueNames('silent');
    const proxy = await TcpProxy.start(1883);
    cleanups.push(() => proxy.close());
    let delivered = 0;
    const subscriber = new MqttConnection({
      url: `mqtt://127.0.0.1:${proxy.port}`,
      clientId,
      protocolVersion: 4, // the broker is not told the limit: reading stops at maxInFlight
      maxInFlight: 5,
      keepaliveSeconds: 1,
      reconnect: { baseMs: 5_000, maxMs: 5_000 },
      onMessage: () => {
        delivered += 1;
        return new Promise(() => {}); // Redis away
      },
    });
    cleanups.push(async () => {
      await subscriber.close();
      await discardSession(mosquittoUrl, clientId, 4);
    });
    await subscriber.connect();
    await subscriber.subscribe([{ filter: `${prefix}/#`, qos: 1 }]);
    const client = await mosquittoPublisher();
    for (let index = 0; index < 10; index += 1)
      await client.publishAsync(`${prefix}/x`, String(index), { qos: 1 });
    await waitFor(() => delivered === 5);
    expect(await staysOnline(subscriber, 2_000)).toBe(true); // held, and the broker answers

    proxy.freeze(); // the network drops everything, without closing anything
    await waitFor(() => !subscriber.isOnline, 4_000, 'the silent broker to be noticed');
  });
});
