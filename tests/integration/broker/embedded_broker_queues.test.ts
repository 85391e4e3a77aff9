/**
 * The embedded broker holds at most so many messages for a client with a persistent session:
 * a device cannot subscribe under one client id, go away, and publish under another until the
 * app runs out of memory.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../../core/broker/index.js';
import { InvalidOptionError } from '../../../core/errors.js';
import { freePort } from '../../support/net.js';
import { RawMqttClient } from '../../support/raw_mqtt_client.js';
import { until } from '../../support/until.js';
import { accounts, BrokerTestKit, nextMessage } from './broker_test_kit.js';

describe('startEmbeddedBroker queues of persistent sessions', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  /** Collects what `client` receives on its topics until `last` arrives. */
  function receivedUntil(client: MqttClient, last: string): Promise<string[]> {
    const received: string[] = [];
    return new Promise((resolve) => {
      client.on('message', (_topic, payload) => {
        received.push(payload.toString());
        if (payload.toString() === last) resolve(received);
      });
    });
  }

  it('drops messages for an offline session past its limit, logs it once, and queues again once it has room', async () => {
    const broker = await kit.startBroker({ queues: { maxMessages: 3, maxBytes: 1_000_000 } });
    const session = { ...accounts.app, clientId: 'dashboard', clean: false };
    const away = await kit.connect(broker, session);
    await away.subscribeAsync('devices/sensor-1/#', { qos: 1 });
    await away.endAsync();
    const device = await kit.connect(broker, accounts.sensor1);
    for (const n of [1, 2, 3, 4, 5])
      await device.publishAsync('devices/sensor-1/telemetry', `m${n}`, { qos: 1 });

    const back = kit.open(broker, session);
    const received = receivedUntil(back, 'm6');
    await new Promise((resolve) => back.once('connect', resolve));
    // the three held ones arrive and are acknowledged; then there is room for more
    await kit.waitForLog('mqtt client queue has room again');
    await device.publishAsync('devices/sensor-1/telemetry', 'm6', { qos: 1 });

    expect(await received).toEqual(['m1', 'm2', 'm3', 'm6']);
    expect(
      kit.logged('mqtt client queue full: messages for it are dropped until it acknowledges some'),
    ).toEqual([
      expect.objectContaining({ clientId: 'dashboard', heldMessages: 3, maxMessages: 3, level: 40 }),
    ]);
  });

  it('counts payload bytes too, and leaves other sessions alone', async () => {
    const broker = await kit.startBroker({ queues: { maxMessages: 100, maxBytes: 10 } });
    const session = { ...accounts.app, clientId: 'small', clean: false };
    const away = await kit.connect(broker, session);
    await away.subscribeAsync('devices/sensor-1/#', { qos: 1 });
    await away.endAsync();
    const online = await kit.connect(broker, { ...accounts.app, clientId: 'online' });
    await online.subscribeAsync('devices/sensor-1/#', { qos: 1 });
    const device = await kit.connect(broker, accounts.sensor1);
    const seen = receivedUntil(online, 'cccccc');
    for (const payload of ['aaaaaa', 'bbbbbb', 'cccccc']) {
      await device.publishAsync('devices/sensor-1/telemetry', payload, { qos: 1 });
    }
    expect(await seen).toEqual(['aaaaaa', 'bbbbbb', 'cccccc']);

    const back = kit.open(broker, session);
    const sentinel = nextMessage(back, 'devices/sensor-1/end');
    const received = receivedUntil(back, 'end');
    await new Promise((resolve) => back.once('connect', resolve));
    await kit.waitForLog('mqtt client queue has room again');
    await device.publishAsync('devices/sensor-1/end', 'end', { qos: 1 });
    await sentinel;
    expect(await received).toEqual(['aaaaaa', 'end']);
  });

  it('gives back the bytes of a QoS 2 message once it is received (PUBREC), not only its place', async () => {
    const broker = await kit.startBroker({ queues: { maxMessages: 100, maxBytes: 10 } });
    // a persistent session that acknowledges what it wants, when it wants
    const reader = await RawMqttClient.open(broker.port, { clientId: 'qos2-reader', ...accounts.app });
    await reader.subscribe('devices/sensor-1/#', 2);
    const device = await kit.connect(broker, accounts.sensor1);
    const acknowledged = () => new Promise((resolve) => broker.aedes.once('ack', resolve));

    await device.publishAsync('devices/sensor-1/telemetry', 'x', { qos: 1 }); // held: never acknowledged
    expect(await reader.next('publish')).toMatchObject({ payload: Buffer.from('x') });
    for (const payload of ['aaaaaa', 'bbbbbb', 'cccccc']) {
      await device.publishAsync('devices/sensor-1/telemetry', payload, { qos: 2 });
      const delivered = await Promise.race([
        reader.next('publish'),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${payload} never came`)), 2_000),
        ),
      ]);
      expect(delivered).toMatchObject({ payload: Buffer.from(payload) });
      const { messageId } = delivered as { messageId: number };
      reader.send({ cmd: 'pubrec', messageId });
      await reader.next('pubrel');
      const completed = acknowledged();
      reader.send({ cmd: 'pubcomp', messageId });
      await completed;
    }
    // at most 'x' and one six-byte message were ever held at once: 7 of its 10 bytes
    expect(
      kit.logged('mqtt client queue full: messages for it are dropped until it acknowledges some'),
    ).toEqual([]);
    await reader.close();
  });

  it('rejects with InvalidOptionError for a negative or fractional queue limit', async () => {
    for (const queues of [
      { maxMessages: -1, maxBytes: 10 },
      { maxMessages: 1, maxBytes: 0.5 },
    ]) {
      await expect(
        startEmbeddedBroker({ port: await freePort(), logger: kit.log.logger, allowAnonymous: true, queues }),
      ).rejects.toThrow(expect.objectContaining({ message: expect.stringMatching(/queues\.max/) }));
    }
    await expect(
      startEmbeddedBroker({
        port: 0,
        logger: kit.log.logger,
        allowAnonymous: true,
        queues: { maxMessages: -1, maxBytes: 1 },
      }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('keeps an online client whose queue is full connected, without the messages dropped for it', async () => {
    const broker = await kit.startBroker({ queues: { maxMessages: 1, maxBytes: 1_000_000 } });
    // a raw client: it acknowledges only when told to
    const slow = await RawMqttClient.open(broker.port, { clientId: 'slow', ...accounts.app });
    await slow.subscribe('devices/sensor-1/#', 1);
    const device = await kit.connect(broker, accounts.sensor1);
    await device.publishAsync('devices/sensor-1/telemetry', 'm1', { qos: 1 });
    const first = await slow.next('publish');
    // its one place is taken by m1 (not acknowledged): m2 is dropped for it
    await device.publishAsync('devices/sensor-1/telemetry', 'm2', { qos: 1 });
    await kit.waitForLog('mqtt client queue full: messages for it are dropped until it acknowledges some');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(slow.closed).toBe(false);

    slow.send({ cmd: 'puback', messageId: first.cmd === 'publish' ? first.messageId! : 0 });
    await kit.waitForLog('mqtt client queue has room again');
    await device.publishAsync('devices/sensor-1/telemetry', 'm3', { qos: 1 });
    const next = await slow.next('publish');
    expect([first, next].map((packet) => (packet.cmd === 'publish' ? String(packet.payload) : ''))).toEqual([
      'm1',
      'm3',
    ]);
    expect(slow.closed).toBe(false);
    await slow.close();
  });

  it('loses none of the messages held for a session when one is dropped for it while they are being re-sent', async () => {
    const broker = await kit.startBroker({ queues: { maxMessages: 3, maxBytes: 1_000_000 } });
    const session = { clientId: 'held-reader', ...accounts.app };
    const first = await RawMqttClient.open(broker.port, session);
    await first.subscribe('devices/sensor-1/cmd', 1);
    await first.close();
    const app = await kit.connect(broker, accounts.app);
    for (const m of ['m1', 'm2', 'm3']) await app.publishAsync('devices/sensor-1/cmd', m, { qos: 1 });
    const publish = (payload: string) =>
      broker.aedes.publish(
        {
          cmd: 'publish',
          topic: 'devices/sensor-1/cmd',
          payload: Buffer.from(payload),
          qos: 1,
          retain: false,
          dup: false,
        },
        () => {},
      );
    // while aedes re-sends the three held ones, more arrive: the queue is full, so they are dropped
    broker.aedes.once('connackSent', () => {
      for (const m of ['n1', 'n2', 'n3']) publish(m);
    });
    const payloads = async (client: RawMqttClient) => {
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        const packet = await client.next('publish');
        got.push(packet.cmd === 'publish' ? String(packet.payload) : '');
      }
      return got;
    };
    const second = await RawMqttClient.open(broker.port, session);
    expect(await payloads(second)).toEqual(['m1', 'm2', 'm3']);
    await kit.waitForLog('mqtt client queue full: messages for it are dropped until it acknowledges some');
    await second.close();
    // none acknowledged: all three are still held, and sent again
    const third = await RawMqttClient.open(broker.port, session);
    expect(await payloads(third)).toEqual(['m1', 'm2', 'm3']);
    await third.close();
  });

  it("bounds what one device's sessions hold together, however many client ids it opens them under", async () => {
    const broker = await kit.startBroker({ queues: { maxMessages: 2, maxBytes: 1_000_000 } });
    const persistence = (
      broker.aedes as unknown as {
        persistence: { outgoingStream(c: { id: string }): AsyncIterable<{ payload: Buffer }> };
      }
    ).persistence;
    const heldFor = async (clientId: string) => {
      const payloads: string[] = [];
      for await (const packet of persistence.outgoingStream({ id: clientId }))
        payloads.push(String(packet.payload));
      return payloads;
    };
    // one device, three sessions; and a service with two, which are bounded each on its own
    const sessions = [
      ...['s1-a', 's1-b', 's1-c'].map((clientId) => ({ ...accounts.sensor1, clientId })),
      ...['app-a', 'app-b'].map((clientId) => ({ ...accounts.app, clientId })),
    ];
    for (const session of sessions) {
      const client = await kit.connect(broker, { ...session, clean: false });
      await client.subscribeAsync('devices/sensor-1/commands', { qos: 1 });
      await client.endAsync();
    }
    const app = await kit.connect(broker, { ...accounts.app, clientId: 'publisher' });
    for (const m of ['m1', 'm2', 'm3']) await app.publishAsync('devices/sensor-1/commands', m, { qos: 1 });

    const device = [...(await heldFor('s1-a')), ...(await heldFor('s1-b')), ...(await heldFor('s1-c'))];
    expect(device).toHaveLength(2);
    expect(await heldFor('app-a')).toEqual(['m1', 'm2']);
    expect(await heldFor('app-b')).toEqual(['m1', 'm2']);
    expect(
      kit.logged('mqtt device queues full: messages for its sessions are dropped until it acknowledges some'),
    ).toEqual([expect.objectContaining({ account: 'device:sensor-1', heldMessages: 2, maxMessages: 2 })]);

    // its sessions come back and acknowledge what they hold: the device has room again
    for (const clientId of ['s1-a', 's1-b', 's1-c']) {
      if ((await heldFor(clientId)).length === 0) continue;
      const back = kit.open(broker, { ...accounts.sensor1, clientId, clean: false });
      await new Promise((resolve) => back.once('connect', resolve));
      await until(
        `${clientId} acknowledged what it held`,
        async () => (await heldFor(clientId)).length === 0,
      );
      await back.endAsync();
    }
    await kit.waitForLog('mqtt device queues have room again');
    await app.publishAsync('devices/sensor-1/commands', 'm4', { qos: 1 });
    expect(await heldFor('s1-a')).toEqual(['m4']);
  });

  it("still runs the app's own aedes.authorizeForward, which may rewrite or refuse a delivery", async () => {
    const broker = await kit.startBroker({
      aedes: {
        authorizeForward: (_client, packet) =>
          packet.topic.endsWith('/private')
            ? null
            : { ...packet, payload: Buffer.from(String(packet.payload).toUpperCase()) },
      },
    });
    const reader = await kit.connect(broker, { ...accounts.app, clientId: 'forward-reader' });
    await reader.subscribeAsync('devices/sensor-1/#', { qos: 1 });
    const received: string[] = [];
    reader.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    const last = nextMessage(reader, 'devices/sensor-1/telemetry');
    const device = await kit.connect(broker, accounts.sensor1);
    await device.publishAsync('devices/sensor-1/private', 'secret', { qos: 1 });
    await device.publishAsync('devices/sensor-1/telemetry', 'hello', { qos: 1 });
    await last;
    expect(received).toEqual(['devices/sensor-1/telemetry HELLO']);
  });
});
