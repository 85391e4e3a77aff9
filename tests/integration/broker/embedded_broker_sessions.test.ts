import { afterEach, describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { RawMqttClient } from '../../support/raw_mqtt_client.js';
import { until } from '../../support/until.js';
import { accounts, BrokerTestKit, grantedQos } from './broker_test_kit.js';

const REFUSED_ID = 'mqtt client refused at authentication';
const REFUSED_SUB =
  'mqtt subscription refused: the session holds its limit of subscriptions (MQTT_BROKER_MAX_SUBSCRIPTIONS)';

describe('startEmbeddedBroker session limits', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  it('refuses a device one client id more than it may hold, counting the persistent sessions it left', async () => {
    const broker = await kit.startBroker({ sessions: { maxClientIds: 2, maxSubscriptions: 100 } });
    const left = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a', clean: false });
    await left.endAsync(); // its session stays, holding the id
    await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-b' });

    const error = await kit.refusal(broker, { ...accounts.sensor1, clientId: 's1-c' });

    expect(error.code).toBe(5);
    expect(kit.logged(REFUSED_ID).at(-1)?.reason).toMatch(
      /the device holds 2 client ids \("s1-a", "s1-b"\), its limit \(MQTT_BROKER_MAX_SESSIONS\)/,
    );
    // another device has room of its own, and the device may come back under an id it holds
    await kit.connect(broker, { ...accounts.sensor2, clientId: 's2-a' });
    await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a', clean: false });
  });

  it('frees a client id once the device connects under it with a clean session and goes', async () => {
    const broker = await kit.startBroker({ sessions: { maxClientIds: 1, maxSubscriptions: 100 } });
    const left = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a', clean: false });
    await left.endAsync();
    expect((await kit.refusal(broker, { ...accounts.sensor1, clientId: 's1-b' })).code).toBe(5);

    const ending = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a', clean: true });
    await ending.endAsync();

    await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-b' });
  });

  it('does not count the client ids of service accounts', async () => {
    const broker = await kit.startBroker({ sessions: { maxClientIds: 1, maxSubscriptions: 0 } });

    await kit.connect(broker, { ...accounts.app, clientId: 'app-a' });
    await kit.connect(broker, { ...accounts.app, clientId: 'app-b' });
    const app = await kit.connect(broker, { ...accounts.app, clientId: 'app-c' });

    expect(await grantedQos(app, 'devices/#')).toBe(0);
  });

  it('answers one subscription more than a client id may hold with 128, until it unsubscribes one', async () => {
    const broker = await kit.startBroker({ sessions: { maxClientIds: 10, maxSubscriptions: 2 } });
    const device = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a' });
    const granted = (filter: string, qos: 0 | 1 = 0) => grantedQos(device, filter, qos);

    expect(await granted('devices/sensor-1/a')).toBe(0);
    expect(await granted('devices/sensor-1/b')).toBe(0);
    expect(await granted('devices/sensor-1/c')).toBe(128);
    expect(await granted('devices/sensor-1/a', 1)).toBe(1); // the same filter again takes no room
    expect(kit.logged(REFUSED_SUB)[0]).toMatchObject({
      topic: 'devices/sensor-1/c',
      limit: 2,
      deviceId: 'sensor-1',
    });

    await device.unsubscribeAsync('devices/sensor-1/a');

    expect(await granted('devices/sensor-1/c')).toBe(0);
  });

  it("keeps a persistent session's subscriptions counted across reconnects, and forgets them at a clean start", async () => {
    const broker = await kit.startBroker({ sessions: { maxClientIds: 10, maxSubscriptions: 1 } });
    const first = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a', clean: false });
    await first.subscribeAsync('devices/sensor-1/a');
    await first.endAsync();

    const resumed = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a', clean: false });
    expect(await grantedQos(resumed, 'devices/sensor-1/b')).toBe(128);
    await resumed.endAsync();

    const fresh = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-a', clean: true });
    expect(await grantedQos(fresh, 'devices/sensor-1/b')).toBe(0);
  });

  it('refuses an empty client id with clean session off (CONNACK 2), and takes one with clean session on', async () => {
    const broker = await kit.startBroker();
    const login = { username: accounts.sensor1.username, password: accounts.sensor1.password };

    expect(await RawMqttClient.connackFor(broker.port, { ...login, clientId: '', clean: false })).toBe(2);
    expect(await RawMqttClient.connackFor(broker.port, { ...login, clientId: '', clean: true })).toBe(0);
    expect(kit.logged(REFUSED_ID)[0]?.reason).toMatch(/an empty client id with clean session off/);
  });

  it.each([
    [{ maxClientIds: 0, maxSubscriptions: 1 }, /sessions\.maxClientIds must be a whole number of 1 or more/],
    [
      { maxClientIds: 1, maxSubscriptions: -1 },
      /sessions\.maxSubscriptions must be a whole number of 0 or more/,
    ],
  ])('refuses the limits %j at start', async (sessions, message) => {
    const error = await kit.startBroker({ sessions }).catch((caught: unknown) => caught);

    expect(isTopiqError(error, 'E_INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('stores for a persistent session only the filters of a SUBSCRIBE that were granted', async () => {
    const broker = await kit.startBroker({ sessions: { maxClientIds: 10, maxSubscriptions: 1 } });
    const app = await kit.connect(broker, accounts.app);
    const device = await kit.connect(broker, { ...accounts.sensor1, clientId: 's1-p', clean: false });
    const asked = {
      'devices/sensor-1/ok': { qos: 1 as const },
      'devices/sensor-1/over-the-limit': { qos: 1 as const },
      'devices/sensor-2/secret': { qos: 1 as const }, // refused by the topic ACL
    };
    const granted = await device.subscribeAsync(asked).then(
      (grants) => grants.map((grant) => grant.qos),
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
    );
    expect(granted).toEqual([1, 128, 128]);
    await device.endAsync();

    // offline: aedes queues for it what its stored filters match
    await app.publishAsync('devices/sensor-2/secret', 'for the app only', { qos: 1 });
    await app.publishAsync('devices/sensor-1/over-the-limit', 'not subscribed', { qos: 1 });
    await app.publishAsync('devices/sensor-1/ok', 'queued', { qos: 1 });
    const back = kit.open(broker, { ...accounts.sensor1, clientId: 's1-p', clean: false });
    const received: string[] = [];
    back.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    await until('the queued message arrives', () => received.length > 0);
    await app.publishAsync('devices/sensor-1/ok', 'sentinel', { qos: 1 });
    await until('the sentinel arrives', () => received.includes('devices/sensor-1/ok sentinel'));

    expect(received).toEqual(['devices/sensor-1/ok queued', 'devices/sensor-1/ok sentinel']);
  });
});
