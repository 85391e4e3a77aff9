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
});
