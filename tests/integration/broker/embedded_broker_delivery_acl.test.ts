/**
 * The embedded broker sends a device only messages on topics its ACL lets it subscribe to, the
 * queued messages of a persistent session it resumes included: with a persistence that outlives
 * the broker, which account holds a client id is forgotten at a restart.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../core/errors.js';
import { until } from '../../support/until.js';
import { accounts, BrokerTestKit, inbox, nextMessage } from './broker_test_kit.js';

const NOT_SENT = 'mqtt message not sent: its topic is outside the topic ACL of the client it was for';
const PERSISTENCE_WARNING_START = 'mqtt broker given a persistence of its own';
const REMOVED = "mqtt resumed session's stored subscriptions removed: refused to the client that resumed it";
const QUEUE_FULL = 'mqtt client queue full: messages for it are dropped until it acknowledges some';

/** The filters aedes's persistence holds for `clientId`'s session. */
async function storedFilters(persistence: unknown, clientId: string): Promise<string[]> {
  const store = persistence as {
    subscriptionsByClient(client: { id: string }): Promise<{ topic: string }[]>;
  };
  return (await store.subscriptionsByClient({ id: clientId })).map((subscription) => subscription.topic);
}

/** The granted QoS codes of a SUBACK mqtt.js rejected (any failure code in it). */
function grantedCodes(error: { packet?: { granted?: unknown } }): unknown {
  return error.packet?.granted;
}

/** A new aedes in-memory persistence (aedes's own dependency), to hand to one broker after another. */
function sharedPersistence(): unknown {
  const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'));
  const create = fromAedes('aedes-persistence') as () => unknown;
  return create();
}

/** The payloads aedes's persistence holds for `clientId`, sent or not. */
async function heldFor(persistence: unknown, clientId: string): Promise<string[]> {
  const store = persistence as { outgoingStream(client: { id: string }): AsyncIterable<{ payload: Buffer }> };
  const held: string[] = [];
  for await (const packet of store.outgoingStream({ id: clientId })) held.push(String(packet.payload));
  return held;
}

describe('startEmbeddedBroker delivery ACL', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  it("sends a device none of the messages queued for another device's session it resumes after a restart", async () => {
    const persistence = sharedPersistence();
    const first = await kit.startBroker({ aedes: { persistence } });
    const owner = await kit.connect(first, { ...accounts.sensor2, clientId: 'shared-id', clean: false });
    await owner.subscribeAsync('devices/sensor-2/commands', { qos: 1 });
    await owner.endAsync();
    const app = await kit.connect(first, accounts.app);
    await app.publishAsync('devices/sensor-2/commands', 'unlock-door', { qos: 1 });
    await first.close(); // the app restarts; the persistence keeps the session

    const second = await kit.startBroker({ aedes: { persistence } });
    const taker = kit.open(second, { ...accounts.sensor1, clientId: 'shared-id', clean: false });
    const received = inbox(taker);
    await new Promise((resolve) => taker.once('connect', resolve));
    await until(
      'the queued message sent or refused',
      () => received.length > 0 || kit.logged(NOT_SENT).length > 0,
    );

    expect(received).toEqual([]);
    expect(kit.logged(NOT_SENT)).toEqual([
      expect.objectContaining({
        level: 40,
        clientId: 'shared-id',
        deviceId: 'sensor-1',
        topic: 'devices/sensor-2/commands',
        qos: 1,
      }),
    ]);
    // the refused message is cleared from the session, which goes on with the device's own topics
    await until(
      'the refused message cleared',
      async () => (await heldFor(persistence, 'shared-id')).length === 0,
    );
    await taker.subscribeAsync('devices/sensor-1/commands', { qos: 1 });
    const own = nextMessage(taker, 'devices/sensor-1/commands');
    const app2 = await kit.connect(second, accounts.app);
    await app2.publishAsync('devices/sensor-1/commands', 'reboot', { qos: 1 });
    expect(await own).toBe('reboot');
    expect(received).toEqual(['devices/sensor-1/commands reboot']);
  });

  it("removes the stored subscriptions of another device's session it resumes, so they fill none of its queue", async () => {
    const persistence = sharedPersistence();
    const queues = { maxMessages: 5, maxBytes: 1 << 20 };
    const first = await kit.startBroker({ aedes: { persistence }, queues });
    const owner = await kit.connect(first, { ...accounts.sensor2, clientId: 'shared-id', clean: false });
    await owner.subscribeAsync('devices/sensor-2/commands', { qos: 1 });
    await owner.endAsync();
    await first.close(); // the app restarts; the persistence keeps the session

    const second = await kit.startBroker({ aedes: { persistence }, queues });
    const taker = await kit.connect(second, { ...accounts.sensor1, clientId: 'shared-id', clean: false });
    const received = inbox(taker);
    await taker.subscribeAsync('devices/sensor-1/commands', { qos: 1 });
    const app = await kit.connect(second, accounts.app);
    // more of the owner's traffic than the device's queue holds, then one of its own
    for (let i = 0; i < queues.maxMessages + 1; i++) {
      await app.publishAsync('devices/sensor-2/commands', `foreign-${i}`, { qos: 1 });
    }
    await app.publishAsync('devices/sensor-1/commands', 'own', { qos: 1 });

    await until(
      "the device's own message",
      () => received.length > 0,
      3000,
      () => kit.logged(QUEUE_FULL),
    );
    expect(received).toEqual(['devices/sensor-1/commands own']);
    expect(kit.logged(QUEUE_FULL)).toEqual([]);
    expect(await storedFilters(persistence, 'shared-id')).toEqual(['devices/sensor-1/commands']);
    // none of the owner's traffic held for it (its own message may wait for its PUBACK a moment)
    expect((await heldFor(persistence, 'shared-id')).filter((payload) => payload !== 'own')).toEqual([]);
    expect(kit.logged(REMOVED)).toEqual([
      expect.objectContaining({
        level: 40,
        clientId: 'shared-id',
        deviceId: 'sensor-1',
        filters: ['devices/sensor-2/commands'],
      }),
    ]);

    // a live SUBSCRIBE refused is answered with 128 as ever, and nothing is stored or removed for it
    const granted = await taker
      .subscribeAsync('devices/sensor-2/#', { qos: 1 })
      .then(() => 'granted', grantedCodes);
    expect(granted).toEqual([128]);
    expect(await storedFilters(persistence, 'shared-id')).toEqual(['devices/sensor-1/commands']);
    expect(kit.logged(REMOVED)).toHaveLength(1);
  });

  it('still sends a device its own messages, live and queued for its persistent session, across a restart too', async () => {
    const persistence = sharedPersistence();
    const first = await kit.startBroker({ aedes: { persistence } });
    const session = { ...accounts.sensor1, clientId: 'sensor-1', clean: false };
    const device = await kit.connect(first, session);
    await device.subscribeAsync('devices/sensor-1/commands', { qos: 1 });
    const app = await kit.connect(first, accounts.app);
    const live = nextMessage(device, 'devices/sensor-1/commands');
    await app.publishAsync('devices/sensor-1/commands', 'live', { qos: 1 });
    expect(await live).toBe('live');
    await device.endAsync();
    await app.publishAsync('devices/sensor-1/commands', 'queued', { qos: 1 });

    const back = kit.open(first, session);
    const received = inbox(back);
    await until('the queued message', () => received.length > 0);
    expect(received).toEqual(['devices/sensor-1/commands queued']);
    await back.endAsync();
    await app.publishAsync('devices/sensor-1/commands', 'queued before the restart', { qos: 1 });
    await first.close();

    const second = await kit.startBroker({ aedes: { persistence } });
    const resumed = kit.open(second, session);
    const afterRestart = inbox(resumed);
    await until('the message queued before the restart', () => afterRestart.length > 0);
    expect(afterRestart).toEqual(['devices/sensor-1/commands queued before the restart']);
    expect(kit.logged(NOT_SENT)).toEqual([]);
  });

  it('warns at start-up about a persistence of its own unless devices keep to their own client ids', async () => {
    const warnings = () =>
      kit.log.lines.filter((line) => String(line.msg).startsWith(PERSISTENCE_WARNING_START));
    await kit.startBroker({ aedes: { persistence: sharedPersistence() }, deviceClientIds: 'device-id' });
    await kit.startBroker();
    expect(warnings()).toEqual([]);

    await kit.startBroker({ aedes: { persistence: sharedPersistence() } });

    expect(warnings()).toEqual([expect.objectContaining({ level: 40, deviceClientIds: 'any' })]);
  });

  it('refuses a persistence a running broker holds, and takes it once that broker closed', async () => {
    const persistence = sharedPersistence();
    const first = await kit.startBroker({ aedes: { persistence } });

    await expect(kit.startBroker({ aedes: { persistence } })).rejects.toThrow(InvalidOptionError);

    await first.close();
    const second = await kit.startBroker({ aedes: { persistence } });
    await kit.connect(second, accounts.sensor1);
  });
});
