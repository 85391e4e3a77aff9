/**
 * A gateway stopped while its start is under way ends with nothing open: the embedded broker
 * the start was bringing up is closed, not left listening with no one to close it.
 */
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import mqttConfig from '../../../config/mqtt.js';
import { createLogger } from '../../../core/logger.js';
import { MqttGateway } from '../../../core/messaging/mqtt_gateway.js';
import { freePort } from '../../support/net.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('MqttGateway stopped while it starts', () => {
  it.each([
    ['at once', () => Promise.resolve()],
    ['a tick later', () => new Promise<void>((resolve) => process.nextTick(resolve))],
    ['5 ms later', () => new Promise<void>((resolve) => setTimeout(resolve, 5))],
  ])('leaves no embedded broker listening when stopped %s', async (_when, pause) => {
    const port = await freePort();
    const settings = mqttConfig.read({ MQTT_BROKER_HOST: '127.0.0.1', MQTT_BROKER_PORT: String(port) });
    const gateway = new MqttGateway({ settings, subscriptions: [], log: createLogger({ level: 'silent' }) });
    cleanups.push(() => gateway.stop());

    const started = gateway.start(async () => {});
    await pause();
    await gateway.stop();
    await started;

    expect(gateway.broker).toBeUndefined();
    expect(await accepts(port)).toBe(false);
  });
});

describe('MqttGateway started after a stop', () => {
  it('opens nothing: it does not even try to listen', async () => {
    const port = await freePort();
    const settings = mqttConfig.read({ MQTT_BROKER_HOST: '127.0.0.1', MQTT_BROKER_PORT: String(port) });
    const gateway = new MqttGateway({ settings, subscriptions: [], log: createLogger({ level: 'silent' }) });
    cleanups.push(() => gateway.stop());
    await gateway.start(async () => {});
    await gateway.stop();
    // the port taken meanwhile: a start that tried to listen would fail with E_BROKER_PORT_IN_USE
    const taker = createServer();
    await new Promise<void>((resolve) => taker.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taker.close(() => resolve())));

    await gateway.start(async () => {});

    expect(gateway.broker).toBeUndefined();
  });
});

/** Whether a TCP connection to `port` on loopback is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
