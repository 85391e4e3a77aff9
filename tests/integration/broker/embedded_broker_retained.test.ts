/**
 * A device may keep only so many retained messages on the embedded broker: past its limit a
 * retained publish is still delivered (and routed), but not retained, so a device cannot fill
 * the app's memory with retained messages on topics it makes up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../core/errors.js';
import { freePort } from '../../support/net.js';
import { accounts, BrokerTestKit, nextMessage } from './broker_test_kit.js';
import { startEmbeddedBroker } from '../../../core/broker/index.js';

describe('startEmbeddedBroker retained messages', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  it("delivers a device's retained publish past its limit without retaining it, and says so in the log", async () => {
    const routed: string[] = [];
    const broker = await kit.startBroker({
      retained: { maxTopics: 1, maxBytes: 1000 },
      beforeAck: async (message) => {
        if (message.principal.kind === 'device') routed.push(`${message.topic} retain=${message.retain}`);
      },
    });
    const live = await kit.connect(broker, accounts.app);
    await live.subscribeAsync('devices/#', { qos: 1 });
    const device = await kit.connect(broker, accounts.sensor1);

    await device.publishAsync('devices/sensor-1/status', 'online', { qos: 1, retain: true });
    const delivered = nextMessage(live, 'devices/sensor-1/made-up-1');
    await device.publishAsync('devices/sensor-1/made-up-1', 'filler', { qos: 1, retain: true });
    expect(await delivered).toBe('filler');

    expect(await kit.retainedUnder(broker, 'devices/#')).toEqual(['devices/sensor-1/status online']);
    expect(routed).toEqual([
      'devices/sensor-1/status retain=true',
      'devices/sensor-1/made-up-1 retain=true', // the routes see what the device sent
    ]);
    expect(
      kit.logged('mqtt publish delivered but not retained: the device holds its limit of retained messages'),
    ).toEqual([
      expect.objectContaining({ topic: 'devices/sensor-1/made-up-1', reason: 'topics', limit: 1, level: 40 }),
    ]);

    // clearing its retained status makes room again
    await device.publishAsync('devices/sensor-1/status', '', { qos: 1, retain: true });
    await device.publishAsync('devices/sensor-1/made-up-2', 'kept', { qos: 1, retain: true });
    expect(await kit.retainedUnder(broker, 'devices/#')).toEqual(['devices/sensor-1/made-up-2 kept']);
  });

  it("counts a device's retained bytes too, and a replaced message's bytes come back", async () => {
    const broker = await kit.startBroker({ retained: { maxTopics: 10, maxBytes: 10 } });
    const device = await kit.connect(broker, accounts.sensor1);
    await device.publishAsync('devices/sensor-1/a', '123456', { qos: 1, retain: true });
    await device.publishAsync('devices/sensor-1/b', '12345', { qos: 1, retain: true }); // 11 bytes: not kept
    expect(await kit.retainedUnder(broker, 'devices/#')).toEqual(['devices/sensor-1/a 123456']);
    expect(
      kit.logged('mqtt publish delivered but not retained: the device holds its limit of retained messages'),
    ).toEqual([expect.objectContaining({ topic: 'devices/sensor-1/b', reason: 'bytes', limit: 10 })]);

    // replacing "a" with a shorter value counts only the new bytes
    await device.publishAsync('devices/sensor-1/a', '12', { qos: 1, retain: true });
    await device.publishAsync('devices/sensor-1/b', '12345678', { qos: 1, retain: true });
    expect(await kit.retainedUnder(broker, 'devices/#')).toEqual([
      'devices/sensor-1/a 12',
      'devices/sensor-1/b 12345678',
    ]);
  });

  it("frees a device's place when the app clears its retained message through aedes.publish", async () => {
    const broker = await kit.startBroker({ retained: { maxTopics: 1, maxBytes: 1000 } });
    const device = await kit.connect(broker, accounts.sensor1);
    await device.publishAsync('devices/sensor-1/status', 'online', { qos: 1, retain: true });
    // the app's own publishes (MqttGateway.publish) go to aedes directly, past authorizePublish
    await new Promise<void>((resolve, reject) =>
      broker.aedes.publish(
        {
          cmd: 'publish',
          topic: 'devices/sensor-1/status',
          payload: Buffer.alloc(0),
          qos: 0,
          retain: true,
          dup: false,
        },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    expect(await kit.retainedUnder(broker, 'devices/#')).toEqual([]);

    await device.publishAsync('devices/sensor-1/config', 'v2', { qos: 1, retain: true });
    expect(await kit.retainedUnder(broker, 'devices/#')).toEqual(['devices/sensor-1/config v2']);
    expect(
      kit.logged('mqtt publish delivered but not retained: the device holds its limit of retained messages'),
    ).toEqual([]);
  });

  it('keeps the limit per device, and does not count services', async () => {
    const broker = await kit.startBroker({ retained: { maxTopics: 1, maxBytes: 1000 } });
    const one = await kit.connect(broker, accounts.sensor1);
    const two = await kit.connect(broker, accounts.sensor2);
    const app = await kit.connect(broker, accounts.app);
    await one.publishAsync('devices/sensor-1/status', 'a', { qos: 1, retain: true });
    await two.publishAsync('devices/sensor-2/status', 'b', { qos: 1, retain: true });
    await app.publishAsync('devices/sensor-1/config', 'c1', { qos: 1, retain: true });
    await app.publishAsync('devices/sensor-1/firmware', 'f1', { qos: 1, retain: true });
    expect(await kit.retainedUnder(broker, 'devices/#')).toEqual([
      'devices/sensor-1/config c1',
      'devices/sensor-1/firmware f1',
      'devices/sensor-1/status a',
      'devices/sensor-2/status b',
    ]);
  });

  it('rejects with InvalidOptionError for a negative or fractional limit', async () => {
    const logger = kit.log.logger;
    for (const retained of [
      { maxTopics: -1, maxBytes: 10 },
      { maxTopics: 1, maxBytes: 1.5 },
    ]) {
      await expect(
        startEmbeddedBroker({
          port: await freePort(),
          host: '127.0.0.1',
          logger,
          allowAnonymous: true,
          retained,
        }),
      ).rejects.toBeInstanceOf(InvalidOptionError);
    }
  });
});
