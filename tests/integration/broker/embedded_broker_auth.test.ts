import { createConnection, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceCredentials } from '../../../core/broker/index.js';
import { MAX_LOGINS_IN_FLIGHT } from '../../../core/broker/credential_check.js';
import { staticCredentials } from '../../../core/broker/static_credentials.js';
import { until } from '../../support/until.js';
import { accounts, BrokerTestKit, closed, inbox, nextMessage } from './broker_test_kit.js';

/**
 * Sends, on a raw socket, sensor-1's CONNECT under sensor-2's client id with a persistent
 * session, as a device taking another's id would; resolves to the socket, left open.
 */
async function hijackerConnect(port: number): Promise<Socket> {
  const socket = createConnection(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: false,
      clientId: 'sensor-2',
      keepalive: 30,
      username: accounts.sensor1.username,
      password: Buffer.from(accounts.sensor1.password),
    }),
  );
  return socket;
}

describe('startEmbeddedBroker authentication', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  it('lets a device publish under its own id to a subscribed service account', async () => {
    const broker = await kit.startBroker();
    const app = await kit.connect(broker, accounts.app);
    await app.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const device = await kit.connect(broker, accounts.sensor1);

    const received = nextMessage(app, 'devices/sensor-1/telemetry');
    await device.publishAsync('devices/sensor-1/telemetry', '{"t":21}', { qos: 1 });

    expect(await received).toBe('{"t":21}');
    expect(kit.logged('mqtt client connected')).toContainEqual(
      expect.objectContaining({ deviceId: 'sensor-1', remoteAddress: '127.0.0.1', level: 30 }),
    );
  });

  it('refuses a wrong password with "bad username or password" and logs it without the password', async () => {
    const broker = await kit.startBroker();

    const error = await kit.refusal(broker, { username: 'sensor-1', password: 'hunter2' });

    expect(error.code).toBe(4);
    const [line] = kit.logged('mqtt client refused at authentication');
    expect(line).toMatchObject({ username: 'sensor-1', returnCode: 4, level: 40 });
    expect(JSON.stringify(kit.log.lines)).not.toContain('hunter2');
  });

  it('refuses an unknown username like a wrong password', async () => {
    const broker = await kit.startBroker();

    const error = await kit.refusal(broker, { username: 'nobody', password: 'pw-sensor-1' });

    expect(error.code).toBe(4);
  });

  it("refuses a device connecting with another account's client id, which stays connected", async () => {
    const broker = await kit.startBroker();
    const victim = await kit.connect(broker, { ...accounts.sensor2, clientId: 'sensor-2' });
    const error = await kit.refusal(broker, { ...accounts.sensor1, clientId: 'sensor-2' });
    expect(error.code).toBe(5);
    expect(kit.logged('mqtt client refused at authentication')[0]?.reason).toMatch(
      /client id "sensor-2" is held by another account's session/,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(victim.connected).toBe(true);
    // its own account may take its id over, as a reconnecting device does
    const again = await kit.connect(broker, { ...accounts.sensor2, clientId: 'sensor-2' });
    expect(again.connected).toBe(true);
  });

  it("keeps a device's persistent session, and its queued messages, from another account", async () => {
    const broker = await kit.startBroker();
    const owner = await kit.connect(broker, { ...accounts.sensor2, clientId: 'sensor-2', clean: false });
    await owner.subscribeAsync('devices/sensor-2/commands', { qos: 1 });
    await owner.endAsync();
    const app = await kit.connect(broker, accounts.app);
    await app.publishAsync('devices/sensor-2/commands', 'unlock-door', { qos: 1 });
    const error = await kit.refusal(broker, { ...accounts.sensor1, clientId: 'sensor-2', clean: false });
    expect(error.code).toBe(5);
    // the owner gets its queued command when it comes back
    const back = kit.open(broker, { ...accounts.sensor2, clientId: 'sensor-2', clean: false });
    const received = inbox(back);
    await until('the queued command', () => received.length > 0);
    expect(received).toEqual(['devices/sensor-2/commands unlock-door']);
  });

  it("with deviceClientIds device-id, takes only the device id as a device's client id, so none can hold another's first", async () => {
    const broker = await kit.startBroker({ deviceClientIds: 'device-id' });
    // sensor-1 cannot take sensor-2's id, not even for a persistent session before sensor-2 comes
    const error = await kit.refusal(broker, { ...accounts.sensor1, clientId: 'sensor-2', clean: false });
    expect(error.code).toBe(2);
    expect(kit.logged('mqtt client refused at authentication')[0]?.reason).toMatch(
      /client id "sensor-2" is not the device's id.*MQTT_BROKER_CLIENT_IDS=device-id.*connect with client id "sensor-1"/,
    );
    expect(await kit.refusal(broker, { ...accounts.sensor1, clientId: 'free-id' })).toMatchObject({
      code: 2,
    });
    const owner = await kit.connect(broker, { ...accounts.sensor2, clientId: 'sensor-2', clean: false });
    expect(owner.connected).toBe(true);
    // a service account keeps any client id
    const app = await kit.connect(broker, { ...accounts.app, clientId: 'topiq-app-7' });
    expect(app.connected).toBe(true);
  });

  it('refuses a deviceClientIds that is neither any nor device-id', async () => {
    await expect(kit.startBroker({ deviceClientIds: 'device' as unknown as 'any' })).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      message: expect.stringContaining("'any' or 'device-id'"),
    });
  });

  it('frees a client id for other accounts once its clean connection ends', async () => {
    const broker = await kit.startBroker();
    const first = await kit.connect(broker, { ...accounts.sensor1, clientId: 'shared-id' });
    await first.endAsync();
    await until('the disconnect', () => kit.logged('mqtt client disconnected').length > 0);
    const second = await kit.connect(broker, { ...accounts.sensor2, clientId: 'shared-id' });
    expect(second.connected).toBe(true);
  });

  it('frees a client id whose connection closed before aedes accepted it, even one asking for a persistent session', async () => {
    // the password check of the hijacker's account takes until its socket has closed
    let socketClosed!: () => void;
    const closedSocket = new Promise<void>((resolve) => {
      socketClosed = resolve;
    });
    const known = staticCredentials(Object.values(accounts));
    let hijackerChecked = false;
    const broker = await kit.startBroker({
      credentials: {
        async verify(username, password) {
          if (username === accounts.sensor1.username) {
            await closedSocket;
            hijackerChecked = true;
          }
          return known.verify(username, password);
        },
      },
    });
    const socket = await hijackerConnect(broker.port);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the CONNECT is being checked
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    socketClosed();
    await until('the check of the closed connection', () => hijackerChecked);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const owner = await kit.connect(broker, { ...accounts.sensor2, clientId: 'sensor-2' });
    expect(owner.connected).toBe(true);
  });

  it('frees a client id whose connection closed after its credentials were accepted but before the broker took it', async () => {
    const broker = await kit.startBroker();
    const persistence = (
      broker.aedes as unknown as { persistence: Record<string, (...args: unknown[]) => unknown> }
    ).persistence;
    // the hijacker's connect stops at its next step (reading its session) until its socket closed
    let socketClosed!: () => void;
    const closedSocket = new Promise<void>((resolve) => {
      socketClosed = resolve;
    });
    let reached!: () => void;
    const reachedSession = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const subscriptionsByClient = persistence.subscriptionsByClient!.bind(persistence);
    persistence.subscriptionsByClient = async (client: unknown) => {
      reached();
      await closedSocket;
      return subscriptionsByClient(client);
    };
    const socket = await hijackerConnect(broker.port);
    await reachedSession; // its credentials were accepted and its client id claimed
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    persistence.subscriptionsByClient = subscriptionsByClient;
    socketClosed();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const owner = await kit.connect(broker, { ...accounts.sensor2, clientId: 'sensor-2' });
    expect(owner.connected).toBe(true);
  });

  it('closes a socket whose CONNECT announces more than 64 KiB, before it logs in or sends the rest', async () => {
    const broker = await kit.startBroker();
    const socket = createConnection(broker.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])); // CONNECT of 256 MiB
    await ended;
    expect(kit.logged('mqtt packet over the size limit: connection closed')[0]).toMatchObject({
      bytes: 268_435_455,
      limit: 65_536,
    });
  });

  it('disconnects a client that publishes a packet over maxPacketBytes, and takes one under it', async () => {
    const broker = await kit.startBroker({ maxPacketBytes: 4096 });
    const app = await kit.connect(broker, accounts.app);
    const received = nextMessage(app, 'devices/sensor-1/small');
    await app.subscribeAsync('devices/sensor-1/#', { qos: 1 });
    const device = await kit.connect(broker, accounts.sensor1);
    await device.publishAsync('devices/sensor-1/small', Buffer.alloc(3000), { qos: 1 });
    expect((await received).length).toBe(3000);
    const gone = closed(device);
    device.publish('devices/sensor-1/big', Buffer.alloc(5000), { qos: 0 });
    await gone;
    expect(kit.logged('mqtt packet over the size limit: connection closed')[0]).toMatchObject({
      limit: 4096,
    });
  });

  it('refuses an anonymous client with "not authorized" by default', async () => {
    const broker = await kit.startBroker();

    const error = await kit.refusal(broker);

    expect(error.code).toBe(5);
  });

  it('accepts an anonymous client as a privileged client when allowAnonymous is on', async () => {
    const broker = await kit.startBroker({ allowAnonymous: true });
    const anonymous = await kit.connect(broker);

    const granted = await anonymous.subscribeAsync('devices/#');

    expect(granted[0]?.qos).toBe(0);
  });

  it.each(['a/b', 'a+', 'a#', 'a\u0000b', '$SYS', ''])(
    'refuses a device whose credentials store returns the unsafe id %j',
    async (deviceId) => {
      const credentials: DeviceCredentials = { verify: async () => ({ kind: 'device', deviceId }) };
      const broker = await kit.startBroker({ credentials });

      const error = await kit.refusal(broker, { username: 'x', password: 'y' });

      expect(error.code).toBe(5);
    },
  );

  it('refuses with "server unavailable" when the credentials store fails, and keeps running', async () => {
    let failing = true;
    const credentials: DeviceCredentials = {
      verify: async () => {
        if (failing) throw new Error('database is down');
        return { kind: 'service', name: 'app' };
      },
    };
    const broker = await kit.startBroker({ credentials });

    const error = await kit.refusal(broker, { username: 'x', password: 'y' });
    failing = false;
    const client = await kit.connect(broker, { username: 'x', password: 'y' });

    expect(error.code).toBe(3);
    expect(client.connected).toBe(true);
    expect(kit.logged('mqtt client refused at authentication')[0]).toMatchObject({ level: 50 });
  });

  it('refuses a CONNECT with "server unavailable" while MAX_LOGINS_IN_FLIGHT checks run, and takes one once they end', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const credentials: DeviceCredentials = {
      verify: async (username) => {
        if (username === 'slow') {
          started++;
          await held;
        }
        return { kind: 'service', name: username };
      },
    };
    const broker = await kit.startBroker({ credentials });
    const waiting = Array.from({ length: MAX_LOGINS_IN_FLIGHT }, () =>
      kit.open(broker, { username: 'slow', password: 'pw', clientId: `slow-${Math.random()}` }),
    );
    await until('every slow check runs', () => started === MAX_LOGINS_IN_FLIGHT);

    const error = await kit.refusal(broker, { username: 'quick', password: 'pw' });
    release();
    await until('the slow logins end', () => waiting.every((client) => client.connected));
    const client = await kit.connect(broker, { username: 'quick', password: 'pw' });

    expect(error.code).toBe(3);
    expect(client.connected).toBe(true);
    expect(kit.logged('mqtt client refused at authentication')[0]).toMatchObject({
      level: 40,
      reason: expect.stringMatching(/logins are being checked already/),
    });
  });
});
