import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultDeviceAcl } from '../../../core/broker/index.js';
import { staticCredentials } from '../../../core/broker/static_credentials.js';
import { accounts, BrokerTestKit, closed, inbox, nextMessage } from './broker_test_kit.js';

/** The SUBACK return codes mqtt.js attaches to a failed subscription. */
function grantedCodes(error: { packet?: { granted?: unknown } }): unknown {
  return error.packet?.granted;
}

/**
 * Has `publisher` send `payload` on `topic`, waits for the broker to close it for that, then sends
 * a sentinel on `sentinelTopic` through `watcher` (subscribed to it): the refusal comes before
 * forwarding, so once the sentinel arrives a refused message can no longer be on its way.
 * Resolves to what `watcher` received from the publish on.
 */
async function refusedPublish(
  publisher: MqttClient,
  topic: string,
  payload: string,
  qos: 0 | 1,
  watcher: MqttClient,
  sentinelTopic: string,
): Promise<string[]> {
  const received = inbox(watcher);
  const disconnected = closed(publisher);
  publisher.publish(topic, payload, { qos }, () => {});
  await disconnected;
  const sentinel = nextMessage(watcher, sentinelTopic);
  await watcher.publishAsync(sentinelTopic, 'after', { qos: 1 });
  await sentinel;
  return received;
}

describe('startEmbeddedBroker topic ACLs', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  it.each([0, 1] as const)(
    'refuses a QoS %i publish under another device id, which no subscriber ever receives',
    async (qos) => {
      const broker = await kit.startBroker();
      const app = await kit.connect(broker, accounts.app);
      await app.subscribeAsync('devices/#', { qos: 1 });
      const intruder = await kit.connect(broker, accounts.sensor1);

      const received = await refusedPublish(
        intruder,
        'devices/sensor-2/telemetry',
        'forged',
        qos,
        app,
        'devices/sensor-2/sentinel',
      );

      expect(received).toEqual(['devices/sensor-2/sentinel after']);
      expect(kit.logged('mqtt publish refused by topic ACL')).toEqual([
        expect.objectContaining({
          level: 40,
          clientId: intruder.options.clientId,
          deviceId: 'sensor-1',
          topic: 'devices/sensor-2/telemetry',
        }),
      ]);
      expect(kit.logged('mqtt client error')).toEqual([]);
    },
  );

  it('keeps serving other clients after refusing a publish', async () => {
    const broker = await kit.startBroker();
    const intruder = await kit.connect(broker, accounts.sensor1);
    const disconnected = closed(intruder);
    intruder.publish('devices/sensor-2/telemetry', 'forged', { qos: 1 }, () => {});
    await disconnected;

    const app = await kit.connect(broker, accounts.app);
    await app.subscribeAsync('devices/sensor-2/#', { qos: 1 });
    const device = await kit.connect(broker, accounts.sensor2);
    const received = nextMessage(app, 'devices/sensor-2/telemetry');
    await device.publishAsync('devices/sensor-2/telemetry', 'genuine', { qos: 1 });

    expect(await received).toBe('genuine');
  });

  it.each(['$SYS', '$SYS/broker/uptime'])(
    "refuses a service account publishing to %s, the broker's own topics",
    async (topic) => {
      const broker = await kit.startBroker();
      const watcher = await kit.connect(broker, accounts.app);
      await watcher.subscribeAsync(['$SYS', '$SYS/#', 'sentinel'], { qos: 1 });
      const service = await kit.connect(broker, accounts.app);
      const received = await refusedPublish(service, topic, 'forged', 1, watcher, 'sentinel');

      expect(received.filter((line) => line.endsWith(' forged'))).toEqual([]);
      expect(kit.logged('mqtt publish refused by topic ACL')).toEqual([expect.objectContaining({ topic })]);
    },
  );

  it("refuses a publish whose topic holds NUL, which MQTT forbids, even in the device's own tree", async () => {
    const broker = await kit.startBroker();
    const app = await kit.connect(broker, accounts.app);
    await app.subscribeAsync('devices/#', { qos: 1 });
    const device = await kit.connect(broker, accounts.sensor1);
    const received = await refusedPublish(
      device,
      'devices/sensor-1/tele\u0000metry',
      'odd',
      1,
      app,
      'devices/sensor-1/sentinel',
    );

    expect(received).toEqual(['devices/sensor-1/sentinel after']);
    expect(kit.logged('mqtt publish refused by topic ACL')).toEqual([
      expect.objectContaining({ deviceId: 'sensor-1', topic: 'devices/sensor-1/tele\u0000metry' }),
    ]);
  });

  it("answers a subscription to another device's topics with a failure SUBACK", async () => {
    const broker = await kit.startBroker();
    const device = await kit.connect(broker, accounts.sensor1);

    const granted = await device.subscribeAsync('devices/sensor-2/#').then(() => 'granted', grantedCodes);

    expect(granted).toEqual([128]);
    expect(device.connected).toBe(true);
    expect(kit.logged('mqtt subscription refused by topic ACL')[0]).toMatchObject({
      deviceId: 'sensor-1',
      topic: 'devices/sensor-2/#',
    });
  });

  it('keeps a device whose id has a $ in its own tree: "sensor-1$\'" gets nothing of sensor-1\'s', async () => {
    const broker = await kit.startBroker({
      credentials: staticCredentials([
        { username: "sensor-1$'", password: 'pw', deviceId: "sensor-1$'" },
        accounts.sensor1,
      ]),
    });
    const attacker = await kit.connect(broker, { username: "sensor-1$'", password: 'pw' });
    const granted = await attacker.subscribeAsync('devices/sensor-1/#').then(() => 'granted', grantedCodes);
    expect(granted).toEqual([128]);
    // and its own tree is its own, literally
    await attacker.subscribeAsync("devices/sensor-1$'/#", { qos: 1 });
  });

  it("grants a subscription inside the device's own tree and refuses the one that reaches beyond it", async () => {
    const broker = await kit.startBroker();
    const device = await kit.connect(broker, accounts.sensor1);

    const granted = await device
      .subscribeAsync(['devices/sensor-1/commands/+', 'devices/+/commands'])
      .then(() => 'granted', grantedCodes);

    expect(granted).toEqual([0, 128]);
  });

  it('delivers messages on extra subscribe templates added by configuration', async () => {
    const broker = await kit.startBroker({
      acl: { subscribe: [...defaultDeviceAcl.subscribe, 'topiq/jobs/{deviceId}/#'] },
    });
    const device = await kit.connect(broker, accounts.sensor1);
    await device.subscribeAsync('topiq/jobs/sensor-1/#', { qos: 1 });
    const app = await kit.connect(broker, accounts.app);

    const received = nextMessage(device, 'topiq/jobs/sensor-1/reboot');
    await app.publishAsync('topiq/jobs/sensor-1/reboot', 'now', { qos: 1 });

    expect(await received).toBe('now');
  });

  it('refuses a last will under another device id', async () => {
    const broker = await kit.startBroker();
    const app = await kit.connect(broker, accounts.app);
    await app.subscribeAsync('devices/#');
    const received = inbox(app);
    const device = await kit.connect(broker, {
      ...accounts.sensor1,
      will: { topic: 'devices/sensor-2/status', payload: Buffer.from('offline'), qos: 0, retain: false },
    });

    device.stream.destroy(); // an abnormal end, so the broker publishes the will
    await kit.waitForLog('mqtt publish refused by topic ACL');
    const sentinel = nextMessage(app, 'devices/sensor-1/sentinel');
    await app.publishAsync('devices/sensor-1/sentinel', 'after');
    await sentinel;

    expect(received).toEqual(['devices/sensor-1/sentinel after']);
    expect(kit.logged('mqtt publish refused by topic ACL')[0]).toMatchObject({
      will: true,
      deviceId: 'sensor-1',
    });
  });
});
