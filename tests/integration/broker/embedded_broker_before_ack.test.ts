import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBroker, IncomingPublish } from '../../../core/broker/index.js';
import { accounts, BrokerTestKit, closed, inbox, nextMessage } from './broker_test_kit.js';
import { until } from '../../support/until.js';

describe('startEmbeddedBroker beforeAck', () => {
  const kit = new BrokerTestKit();

  /**
   * sensor-1 connected with a last will on its status topic, and the app subscribed to it:
   * `delivered` resolves with the will's payload once the app receives it.
   */
  async function deviceWithWill(broker: EmbeddedBroker) {
    const app = await kit.connect(broker, accounts.app);
    await app.subscribeAsync('devices/#', { qos: 1 });
    const delivered = nextMessage(app, 'devices/sensor-1/status');
    const device = await kit.connect(broker, {
      ...accounts.sensor1,
      will: { topic: 'devices/sensor-1/status', payload: Buffer.from('offline'), qos: 1, retain: false },
    });
    return { delivered, device };
  }
  afterEach(() => kit.cleanup());

  it('finishes before the device receives its PUBACK', async () => {
    const events: string[] = [];
    let release = () => {};
    const seen: IncomingPublish[] = [];
    const broker = await kit.startBroker({
      beforeAck: async (message) => {
        seen.push(message);
        events.push('beforeAck started');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        events.push('beforeAck finished');
      },
    });
    const device = await kit.connect(broker, accounts.sensor1);
    device.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback') events.push('puback received');
    });

    const published = device.publishAsync('devices/sensor-1/telemetry', 'reading', { qos: 1 });
    await until('beforeAck starts', () => events.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual(['beforeAck started']);
    release();
    await published;

    expect(events).toEqual(['beforeAck started', 'beforeAck finished', 'puback received']);
    expect(seen[0]).toMatchObject({
      topic: 'devices/sensor-1/telemetry',
      qos: 1,
      retain: false,
      dup: false,
      clientId: device.options.clientId,
      principal: { kind: 'device', deviceId: 'sensor-1' },
    });
    expect(seen[0]?.payload.toString()).toBe('reading');
  });

  it('is not asked about a publish the ACL refused', async () => {
    const seen: string[] = [];
    const broker = await kit.startBroker({ beforeAck: async (message) => void seen.push(message.topic) });
    const device = await kit.connect(broker, accounts.sensor1);

    const disconnected = closed(device);
    device.publish('devices/sensor-2/telemetry', 'forged', { qos: 1 }, () => {});
    await disconnected;

    expect(seen).toEqual([]);
  });

  it('refuses the publish when it rejects, without forwarding it or stopping the broker', async () => {
    const broker = await kit.startBroker({
      beforeAck: async (message) => {
        if (message.payload.toString() === 'poison') throw new Error('database is down');
      },
    });
    const app = await kit.connect(broker, accounts.app);
    await app.subscribeAsync('devices/#', { qos: 1 });
    const received = inbox(app);
    const device = await kit.connect(broker, accounts.sensor1);
    let acknowledged = false;

    const disconnected = closed(device);
    device.publish('devices/sensor-1/telemetry', 'poison', { qos: 1 }, (error) => {
      acknowledged = error === undefined;
    });
    await disconnected;
    const other = await kit.connect(broker, accounts.sensor2);
    const sentinel = nextMessage(app, 'devices/sensor-2/telemetry');
    await other.publishAsync('devices/sensor-2/telemetry', 'fine', { qos: 1 });
    await sentinel;

    expect(acknowledged).toBe(false);
    expect(received).toEqual(['devices/sensor-2/telemetry fine']);
    expect(kit.logged('mqtt publish refused: beforeAck failed')[0]).toMatchObject({
      level: 50,
      deviceId: 'sensor-1',
      topic: 'devices/sensor-1/telemetry',
      err: expect.objectContaining({ message: 'database is down' }),
    });
  });

  it('gets the QoS 1 message again when the device reconnects after a refusal', async () => {
    let attempts = 0;
    const broker = await kit.startBroker({
      beforeAck: async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('transient failure');
      },
    });
    const device = await kit.connect(broker, { ...accounts.sensor1, reconnectPeriod: 50 });

    await device.publishAsync('devices/sensor-1/telemetry', 'reading', { qos: 1 });

    expect(attempts).toBe(2);
  });

  it("routes a device's last will, which its subscribers get without waiting for the route", async () => {
    const seen: IncomingPublish[] = [];
    let release = () => {};
    const broker = await kit.startBroker({
      beforeAck: async (message) => {
        seen.push(message);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    const { delivered, device } = await deviceWithWill(broker);

    device.stream.destroy(); // an abnormal end, so the broker publishes the will

    expect(await delivered).toBe('offline'); // while the route is still held
    release();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      topic: 'devices/sensor-1/status',
      qos: 1,
      clientId: device.options.clientId,
      principal: { kind: 'device', deviceId: 'sensor-1' },
    });
    expect(seen[0]?.payload.toString()).toBe('offline');
  });

  it('logs a last will whose route failed, and still delivers it', async () => {
    const broker = await kit.startBroker({
      beforeAck: async () => {
        throw new Error('app stopping');
      },
    });
    const { delivered, device } = await deviceWithWill(broker);

    device.stream.destroy();

    expect(await delivered).toBe('offline');
    await kit.waitForLog('mqtt last will not routed: beforeAck failed');
    expect(kit.logged('mqtt last will not routed: beforeAck failed')[0]).toMatchObject({
      level: 50,
      will: true,
      deviceId: 'sensor-1',
      topic: 'devices/sensor-1/status',
      err: expect.objectContaining({ message: 'app stopping' }),
    });
  });

  it('does not route the last wills of the clients it closes when the broker closes', async () => {
    const seen: string[] = [];
    const broker = await kit.startBroker({ beforeAck: async (message) => void seen.push(message.topic) });
    await kit.connect(broker, {
      ...accounts.sensor1,
      will: { topic: 'devices/sensor-1/status', payload: Buffer.from('offline'), qos: 1, retain: false },
    });

    await broker.close();
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(seen).toEqual([]);
  });
});
