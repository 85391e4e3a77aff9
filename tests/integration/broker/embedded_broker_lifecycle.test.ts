import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { silentLogger } from '../../../core/logger.js';
import { freePort } from '../../support/net.js';
import { startEmbeddedBroker } from '../../../core/broker/index.js';
import { accounts, BrokerTestKit, closed } from './broker_test_kit.js';

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('startEmbeddedBroker lifecycle', () => {
  const kit = new BrokerTestKit();
  afterEach(() => kit.cleanup());

  it('rejects with BrokerPortInUseError and a hint when the port is taken', async () => {
    const port = await freePort();
    const squatter = await listenOn(port);
    try {
      const error = await kit.startBroker({ port }).catch((caught: unknown) => caught);

      expect(isTopiqError(error, 'E_BROKER_PORT_IN_USE')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain(`Port ${port}`);
      expect(message).toContain('Mosquitto');
      expect(message).toContain('MQTT_BROKER_PORT');
      expect(message).toContain(`MQTT_URL=mqtt://127.0.0.1:${port}`);
      // what pointing at another Topiq app's embedded broker takes besides
      expect(message).toContain('MQTT_PROTOCOL_VERSION=4 and MQTT_SHARED_SUBSCRIPTIONS=false');
      expect(message).toContain('MQTT_SERVICE_ACCOUNTS');
    } finally {
      await closeServer(squatter);
    }
  });

  it('rejects with BrokerPortInUseError on the port Mosquitto holds', async () => {
    const error = await kit.startBroker({ port: 1883 }).catch((caught: unknown) => caught);

    expect(isTopiqError(error, 'E_BROKER_PORT_IN_USE')).toBe(true);
  });

  it('rejects with BrokerUnavailableError when the host is not an address of this machine', async () => {
    const error = await kit.startBroker({ host: '192.0.2.1' }).catch((caught: unknown) => caught);

    expect(isTopiqError(error, 'E_BROKER_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('192.0.2.1');
  });

  it('rejects with InvalidOptionError when no client could ever connect', async () => {
    const error = await startEmbeddedBroker({ port: 0, logger: silentLogger() }).catch(
      (caught: unknown) => caught,
    );

    expect(isTopiqError(error, 'E_INVALID_OPTION')).toBe(true);
  });

  it('rejects with InvalidOptionError for a mistyped ACL placeholder', async () => {
    const error = await kit
      .startBroker({ acl: { publish: ['devices/{device_id}/#'] } })
      .catch((caught) => caught);

    expect(isTopiqError(error, 'E_INVALID_OPTION')).toBe(true);
  });

  it('reports the port it picked when asked for port 0', async () => {
    const broker = await kit.startBroker({ port: 0 });

    expect(broker.port).toBeGreaterThan(0);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
  });

  it('closes idempotently, disconnecting clients and freeing the port', async () => {
    const broker = await kit.startBroker();
    const device = await kit.connect(broker, accounts.sensor1);
    const silent = connect(broker.port, '127.0.0.1'); // never sends CONNECT
    await new Promise((resolve) => silent.once('connect', resolve));
    const silentClosed = new Promise((resolve) => silent.once('close', resolve));
    const deviceClosed = closed(device);

    await Promise.all([broker.close(), broker.close()]);
    await broker.close();

    await deviceClosed;
    await silentClosed;
    expect(broker.aedes.closed).toBe(true);
    await closeServer(await listenOn(broker.port));
  });

  it('logs one line for the connect and one for the disconnect of a client', async () => {
    const broker = await kit.startBroker();
    const device = await kit.connect(broker, accounts.sensor1);
    await device.endAsync();
    await kit.waitForLog('mqtt client disconnected');

    expect(kit.logged('mqtt client connected')).toHaveLength(1);
    expect(kit.logged('mqtt client disconnected')).toEqual([
      expect.objectContaining({ clientId: device.options.clientId, deviceId: 'sensor-1' }),
    ]);
  });
});
