/**
 * A client that stops reading its socket must not hold up the broker: aedes waits for a
 * socket to drain before it counts a delivery done, and runs at most 100 deliveries at once,
 * so one device that subscribed and stopped reading held up every message to every client
 * (for aedes's 60 s drain timeout) while those published meanwhile piled up in memory.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBroker } from '../../../core/broker/index.js';
import { RawMqttClient } from '../../support/raw_mqtt_client.js';
import { until } from '../../support/until.js';
import { accounts, BrokerTestKit } from './broker_test_kit.js';

/** A client of sensor-1 subscribed to `filter` that reads nothing more until `resume()`. */
async function stuckSubscriber(port: number, filter: string, qos: 0 | 1 = 0) {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const topics: string[] = [];
  let subscribed = false;
  parser.on('packet', (packet) => {
    if (packet.cmd === 'suback') subscribed = true;
    if (packet.cmd === 'publish') topics.push(packet.topic);
  });
  socket.on('data', (chunk) => parser.parse(chunk));
  const write = (packet: mqttPacket.Packet) => socket.write(mqttPacket.generate(packet));
  write({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: 'sensor-1-slow',
    clean: true,
    keepalive: 0,
    username: accounts.sensor1.username,
    password: Buffer.from(accounts.sensor1.password),
  });
  write({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
  await until('subscribed', () => subscribed);
  socket.pause(); // from now on it reads nothing
  return { socket, topics, resume: () => socket.resume() };
}

const unsentFor = (broker: EmbeddedBroker, clientId: string): number =>
  (broker.aedes as unknown as { clients: Record<string, { conn: Socket }> }).clients[clientId]!.conn
    .writableLength;

describe('the embedded broker with a client that does not read', () => {
  const kit = new BrokerTestKit();
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await kit.cleanup();
  });

  it('delivers to the other clients at once, and holds a bounded buffer for it, dropping what passes it', async () => {
    const maxBytes = 1024 * 1024;
    let routed = 0;
    const broker = await kit.startBroker({
      beforeAck: async () => {
        routed++;
      },
      queues: { maxMessages: 1000, maxBytes },
    });
    const stuck = await stuckSubscriber(broker.port, 'devices/sensor-1/#');
    sockets.push(stuck.socket);

    // 50 MB for it, then 150 small messages in one read from another of the device's client ids
    const flooder = await kit.connect(broker, { ...accounts.sensor1, clientId: 'sensor-1-pub' });
    const big = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 200; i++) flooder.publish('devices/sensor-1/flood', big, { qos: 0 });
    const batcher = await RawMqttClient.open(broker.port, {
      clientId: 'sensor-1-batch',
      ...accounts.sensor1,
    });
    batcher.send(
      ...Array.from({ length: 150 }, () => ({
        cmd: 'publish' as const,
        topic: 'devices/sensor-1/x',
        payload: Buffer.from('x'),
        qos: 0 as const,
        dup: false,
        retain: false,
      })),
    );
    await until('the flood is read', () => routed === 350);

    const other = await kit.connect(broker, { ...accounts.sensor2, clientId: 'sensor-2' });
    const received: string[] = [];
    other.on('message', (_topic, payload) => received.push(payload.toString()));
    await other.subscribeAsync('devices/sensor-2/commands', { qos: 1 });
    broker.aedes.publish(
      {
        cmd: 'publish',
        topic: 'devices/sensor-2/commands',
        payload: Buffer.from('reboot'),
        qos: 1,
        dup: false,
        retain: false,
      },
      () => {},
    );
    // before: only once aedes's 60 s drain timeout threw the stuck client off
    await until('the other device gets its command', () => received.length === 1, 3000);
    // what the stuck client holds: the bound, and at most the deliveries under way past it
    expect(unsentFor(broker, 'sensor-1-slow')).toBeLessThanOrEqual(maxBytes + 100 * big.length);
    expect(kit.log.lines.filter((line) => line.event === 'broker.client_not_reading')).toEqual([
      expect.objectContaining({ clientId: 'sensor-1-slow', limit: maxBytes }),
    ]);
  });

  it('sends to a client that reads again once its buffer has room', async () => {
    const broker = await kit.startBroker({
      beforeAck: async () => {},
      queues: { maxMessages: 1000, maxBytes: 64 * 1024 },
    });
    const stuck = await stuckSubscriber(broker.port, 'devices/sensor-1/#');
    sockets.push(stuck.socket);
    const publisher = await kit.connect(broker, { ...accounts.sensor1, clientId: 'sensor-1-pub' });
    const big = Buffer.alloc(64 * 1024, 7);
    for (let i = 0; i < 100; i++) publisher.publish('devices/sensor-1/flood', big, { qos: 0 });
    await until('its buffer is full', () =>
      kit.log.lines.some((line) => line.event === 'broker.client_not_reading'),
    );

    stuck.resume();
    await until('it has read what was buffered', () => unsentFor(broker, 'sensor-1-slow') === 0);
    await publisher.publishAsync('devices/sensor-1/after', 'x', { qos: 0 });
    await until('it gets the next message', () => stuck.topics.includes('devices/sensor-1/after'));
    expect(stuck.topics.filter((topic) => topic === 'devices/sensor-1/flood').length).toBeLessThan(100);
    expect(kit.log.lines.some((line) => line.event === 'broker.client_reading')).toBe(true);
  });

  it("stops reading a client that sends but does not read aedes's answers, so they stay bounded", async () => {
    const broker = await kit.startBroker({
      beforeAck: async () => {},
      queues: { maxMessages: 1000, maxBytes: 64 * 1024 },
    });
    const stuck = await stuckSubscriber(broker.port, 'devices/sensor-1/#');
    sockets.push(stuck.socket);
    // 24 MiB of PINGREQs (2 bytes each), each answered by a PINGRESP it never reads
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i += 2) chunk[i] = 0xc0;
    for (let sent = 0; sent < 24 * 1024 * 1024; sent += chunk.length) {
      if (stuck.socket.write(chunk)) continue;
      // the broker stopped reading it: no drain comes
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 1000);
        stuck.socket.once('drain', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) break;
    }
    expect(unsentFor(broker, 'sensor-1-slow')).toBeLessThan(1024 * 1024);
  });

  it.each([0, 1] as const)(
    'logs a QoS %s subscriber that goes away with messages left unsent as one client error, not one a message',
    async (qos) => {
      const broker = await kit.startBroker({
        beforeAck: async () => {},
        queues: { maxMessages: 1000, maxBytes: 64 * 1024 * 1024 },
      });
      const stuck = await stuckSubscriber(broker.port, 'devices/sensor-1/#', qos);
      const send = (payload: Buffer) =>
        new Promise<void>((resolve) =>
          broker.aedes.publish(
            { cmd: 'publish', topic: 'devices/sensor-1/commands', payload, qos, retain: false, dup: false },
            () => resolve(),
          ),
        );
      // fill the kernel's buffers, then 2,000 small commands, each waiting for the socket
      for (let i = 0; i < 80; i++) await send(Buffer.alloc(256 * 1024, 1));
      for (let i = 0; i < 2000; i++) await send(Buffer.from('reboot'));
      stuck.socket.destroy(); // the device goes away
      await until('its going is seen', () =>
        kit.log.lines.some((line) => line.event === 'broker.client_error'),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(kit.log.lines.filter((line) => line.event === 'broker.client_error')).toHaveLength(1);
    },
  );

  it('sends every retained message at a SUBSCRIBE to a client that reads them all, only slower', async () => {
    const broker = await kit.startBroker({
      beforeAck: async () => {},
      queues: { maxMessages: 1000, maxBytes: 1024 * 1024 },
    });
    const count = 1000;
    const payload = Buffer.alloc(8 * 1024, 1);
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve) =>
        broker.aedes.publish(
          { cmd: 'publish', topic: `devices/d${i}/status`, payload, qos: 1, retain: true, dup: false },
          () => resolve(),
        ),
      );
    }
    // a dashboard reading at about 4 MB/s: 8 MB of retained messages, past the 1 MiB bound
    const socket = connect(broker.port, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let retained = 0;
    let subscribed = false;
    parser.on('packet', (packet) => {
      if (packet.cmd === 'suback') subscribed = true;
      if (packet.cmd === 'publish' && packet.retain) retained++;
    });
    socket.on('data', (chunk: Buffer) => {
      parser.parse(chunk);
      if (!subscribed) return;
      socket.pause();
      setTimeout(() => socket.resume(), Math.max(1, (chunk.length / (4 * 1024 * 1024)) * 1000));
    });
    const write = (packet: mqttPacket.Packet) => socket.write(mqttPacket.generate(packet));
    write({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'dashboard',
      clean: true,
      keepalive: 0,
      username: accounts.app.username,
      password: Buffer.from(accounts.app.password),
    });
    write({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'devices/+/status', qos: 0 }] });
    await until('every retained message came', () => retained === count, 20_000);
  });

  it.each([0, -1, 2 ** 31, Number.POSITIVE_INFINITY])(
    'refuses an aedes drainTimeout of %s, no positive Node timer: it is what closes a client that reads nothing',
    async (drainTimeout) => {
      await expect(kit.startBroker({ aedes: { drainTimeout } })).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        message: expect.stringContaining('aedes.drainTimeout must be a positive number of ms'),
      });
    },
  );
});
