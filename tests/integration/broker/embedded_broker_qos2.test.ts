/**
 * QoS 2 is "exactly once" between a device and the broker: a device that resends a QoS 2
 * PUBLISH (DUP set, same packet id) because it never saw the PUBREC must not get its message
 * routed, and its jobs dispatched, a second time. aedes asks `authorizePublish` (where
 * `beforeAck` runs) before it looks for the packet id among those it holds, so the broker's
 * hook checks first. These tests speak raw MQTT (mqtt-packet) to control packet ids and DUP.
 */
import type { Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBroker, IncomingPublish } from '../../../core/broker/index.js';
import { RawMqttClient } from '../../support/raw_mqtt_client.js';
import { until } from '../../support/until.js';
import { accounts, BrokerTestKit, inbox } from './broker_test_kit.js';

const open = (broker: EmbeddedBroker) =>
  RawMqttClient.open(broker.port, { clientId: 'sensor-1', ...accounts.sensor1 });

const publish = (
  messageId: number,
  payload: string,
  dup: boolean,
  { topic = 'devices/sensor-1/telemetry', retain = false } = {},
): Packet => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 2,
  dup,
  retain,
  messageId,
});

describe('startEmbeddedBroker with QoS 2 resends', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  it('routes a QoS 2 message once when the device resends it after a lost PUBREC', async () => {
    const routed: IncomingPublish[] = [];
    const broker = await kit.startBroker({ beforeAck: async (message) => void routed.push(message) });
    const first = await open(broker);
    first.send(publish(7, 'reading-1', false));
    await first.next('pubrec');
    // the PUBREC never reached the device: it reconnects to its session and sends again
    await first.close();
    const second = await open(broker);
    second.send(publish(7, 'reading-1', true));
    expect(await second.next('pubrec')).toMatchObject({ messageId: 7 });
    second.send({ cmd: 'pubrel', messageId: 7 });
    expect(await second.next('pubcomp')).toMatchObject({ messageId: 7 });

    expect(routed.map((message) => message.payload.toString())).toEqual(['reading-1']);
    expect(kit.logged('mqtt QoS 2 resend of a message already accepted: not routed again')).toHaveLength(1);

    // once released (PUBREL), the packet id is free: a new message under it is routed
    second.send(publish(7, 'reading-2', false));
    await second.next('pubrec');
    expect(routed.map((message) => message.payload.toString())).toEqual(['reading-1', 'reading-2']);
    await second.close();
  });

  it('routes a QoS 2 resend once when it arrives while the first copy is still being routed', async () => {
    const routed: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const broker = await kit.startBroker({
      beforeAck: async (message) => {
        routed.push(message.payload.toString());
        await held; // the first copy's jobs are slow to store
      },
    });
    const first = await open(broker);
    first.send(publish(9, 'slow', false));
    await until('the first copy is being routed', () => routed.length === 1);
    await first.close();
    const second = await open(broker);
    second.send(publish(9, 'slow', true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect(await second.next('pubrec')).toMatchObject({ messageId: 9 });
    second.send({ cmd: 'pubrel', messageId: 9 });
    await second.next('pubcomp');
    expect(routed).toEqual(['slow']);
    await second.close();
  });

  it('forwards a QoS 2 message once when its resend arrives in the same read as the first copy', async () => {
    const routed: string[] = [];
    const broker = await kit.startBroker({
      retained: { maxTopics: 1, maxBytes: 1000 },
      beforeAck: async (message) => {
        if (message.principal.kind !== 'device') return;
        routed.push(message.topic);
        await new Promise((resolve) => setTimeout(resolve, 5)); // its jobs take a moment to store
      },
    });
    const live = await kit.connect(broker, accounts.app);
    await live.subscribeAsync('devices/#', { qos: 2 });
    const received = inbox(live);
    const device = await open(broker);
    device.send(publish(1, 'online', false, { topic: 'devices/sensor-1/status', retain: true }));
    await device.next('pubrec');
    device.send({ cmd: 'pubrel', messageId: 1 });
    await device.next('pubcomp');

    // the device holds its one retained topic; a second one, sent twice in one write
    const extra = { topic: 'devices/sensor-1/extra', retain: true };
    device.send(publish(2, 'extra', false, extra), publish(2, 'extra', true, extra));
    await device.next('pubrec');
    device.send({ cmd: 'pubrel', messageId: 2 });
    await device.next('pubcomp');
    device.send(publish(3, 'end', false, { topic: 'devices/sensor-1/end' }));
    await device.next('pubrec');
    await until('the end marker is delivered', () => received.includes('devices/sensor-1/end end'));

    expect(routed).toEqual(['devices/sensor-1/status', 'devices/sensor-1/extra', 'devices/sensor-1/end']);
    expect(received).toEqual([
      'devices/sensor-1/status online',
      'devices/sensor-1/extra extra',
      'devices/sensor-1/end end',
    ]);
    expect(await kit.retainedUnder(broker, 'devices/sensor-1/#')).toEqual(['devices/sensor-1/status online']);
    await device.close();
  });

  it('routes a QoS 2 resend whose first copy was refused', async () => {
    const routed: string[] = [];
    const broker = await kit.startBroker({
      beforeAck: async (message) => {
        routed.push(message.payload.toString());
        if (routed.length === 1) throw new Error('redis is down');
      },
    });
    const first = await open(broker);
    first.send(publish(3, 'retry-me', false));
    await until(
      'the first copy is refused',
      () => kit.logged('mqtt publish refused: beforeAck failed').length === 1,
    );
    await first.close();
    const second = await open(broker);
    second.send(publish(3, 'retry-me', true));
    expect(await second.next('pubrec')).toMatchObject({ messageId: 3 });
    expect(routed).toEqual(['retry-me', 'retry-me']);
    await second.close();
  });

  /** The packet ids of `ids` that `broker` holds from client id `clientId` awaiting PUBREL. */
  async function held(broker: EmbeddedBroker, clientId: string, ids: number[]): Promise<number[]> {
    const { persistence } = broker.aedes as unknown as {
      persistence: {
        incomingGetPacket(client: { id: string }, packet: { messageId: number }): Promise<unknown>;
      };
    };
    const found: number[] = [];
    for (const messageId of ids) {
      if (
        await persistence.incomingGetPacket({ id: clientId }, { messageId }).then(
          () => true,
          () => false,
        )
      )
        found.push(messageId);
    }
    return found;
  }

  it('holds at most its limit of QoS 2 messages awaiting PUBREL from a client id across reconnects, closing the connection past it', async () => {
    const routed: string[] = [];
    const broker = await kit.startBroker({
      beforeAck: async (message) => void routed.push(message.payload.toString()),
      incoming: { maxMessages: 5, maxBytes: 1 << 20 },
    });
    const first = await open(broker);
    first.send(...[1, 2, 3, 4].map((id) => publish(id, `r${id}`, false)));
    for (let i = 0; i < 4; i++) await first.next('pubrec');
    await first.close(); // clean session off: the four stay held, unreleased

    // aedes counts per connection: a new one would start again at 0
    const second = await open(broker);
    second.send(publish(5, 'r5', false));
    expect(await second.next('pubrec')).toMatchObject({ messageId: 5 });
    second.send(publish(6, 'r6', false));
    await until('the connection is closed', () => second.closed);
    expect(await held(broker, 'sensor-1', [1, 2, 3, 4, 5, 6])).toEqual([1, 2, 3, 4, 5]);
    expect(kit.log.lines.filter((line) => line.event === 'broker.qos2_refused')).toEqual([
      expect.objectContaining({ clientId: 'sensor-1', held: 5, maxMessages: 5 }),
    ]);

    // the PUBRELs it owes make room again
    const third = await open(broker);
    third.send({ cmd: 'pubrel', messageId: 1 });
    expect(await third.next('pubcomp')).toMatchObject({ messageId: 1 });
    third.send(publish(6, 'r6', true));
    expect(await third.next('pubrec')).toMatchObject({ messageId: 6 });
    expect(await held(broker, 'sensor-1', [1, 6])).toEqual([6]);
    // refused before it was routed: its resend is routed once
    expect(routed).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  });

  it("bounds the QoS 2 payload bytes awaiting PUBREL of all one device's client ids together, not another device's", async () => {
    const broker = await kit.startBroker({
      beforeAck: async () => {},
      incoming: { maxMessages: 100, maxBytes: 100 },
    });
    const bytes = 'x'.repeat(60);
    const a = await RawMqttClient.open(broker.port, { clientId: 'sensor-1-a', ...accounts.sensor1 });
    a.send(publish(1, bytes, false));
    await a.next('pubrec');
    const b = await RawMqttClient.open(broker.port, { clientId: 'sensor-1-b', ...accounts.sensor1 });
    b.send(publish(1, bytes, false));
    await until('the second client id is closed', () => b.closed);
    expect(await held(broker, 'sensor-1-b', [1])).toEqual([]);

    const other = await RawMqttClient.open(broker.port, { clientId: 'sensor-2', ...accounts.sensor2 });
    other.send(publish(1, bytes, false, { topic: 'devices/sensor-2/telemetry' }));
    expect(await other.next('pubrec')).toMatchObject({ messageId: 1 });
    // released, the first client id's message frees the device's bytes
    a.send({ cmd: 'pubrel', messageId: 1 });
    await a.next('pubcomp');
    const again = await RawMqttClient.open(broker.port, { clientId: 'sensor-1-b', ...accounts.sensor1 });
    again.send(publish(1, bytes, false));
    expect(await again.next('pubrec')).toMatchObject({ messageId: 1 });
  });

  it('holds 1,000 QoS 2 messages awaiting PUBREL from a client id by default', async () => {
    const broker = await kit.startBroker({ beforeAck: async () => {} });
    const ids = Array.from({ length: 1001 }, (_, i) => i + 1);
    const first = await open(broker);
    first.send(...ids.slice(0, 600).map((id) => publish(id, 'r', false)));
    for (let i = 0; i < 600; i++) await first.next('pubrec');
    await first.close();
    const second = await open(broker);
    second.send(...ids.slice(600).map((id) => publish(id, 'r', false)));
    await until('the connection is closed', () => second.closed);
    expect(await held(broker, 'sensor-1', ids)).toHaveLength(1000);
  });

  it('keeps its count when a device sends copies without DUP of packet ids it holds (aedes keeps the first copies)', async () => {
    const broker = await kit.startBroker({
      beforeAck: async () => {},
      incoming: { maxMessages: 100, maxBytes: 3000 },
    });
    const big = 'x'.repeat(1000);
    const device = await open(broker);
    for (const id of [1, 2, 3]) {
      device.send(publish(id, big, false));
      await device.next('pubrec');
    }
    // empty copies of the held ids, without DUP: answered as duplicates, nothing stored
    for (const id of [1, 2, 3]) {
      device.send(publish(id, '', false));
      await device.next('pubrec');
    }
    device.send(publish(4, big, false));
    await until('the connection is closed', () => device.closed);
    expect(await held(broker, 'sensor-1', [1, 2, 3, 4])).toEqual([1, 2, 3]);
  });
});
