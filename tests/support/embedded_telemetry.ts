/**
 * A server on its embedded broker (development accounts) whose one route,
 * `devices/{deviceId}/telemetry`, runs the test's handler, and a device connected to it: for
 * tests of what a server does with a device's message (its logs, its stop).
 */
import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { createServer } from '../../bootstrap/server.js';
import { createRouteTable, type Server } from '../../core/index.js';
import { type CapturedLog, capturingLogger } from './capturing_logger.js';
import { freePort } from './net.js';

/** What {@link embeddedTelemetry} started; `cleanup` stops the device and the server. */
export interface EmbeddedTelemetry {
  server: Server;
  log: CapturedLog;
  device: MqttClient;
  /** The device's id: it may publish under `devices/<deviceId>/`. */
  deviceId: string;
  cleanup(): Promise<void>;
}

/**
 * Starts the server, logging at `level` to a captured logger, and connects a device.
 *
 * @example
 * const { server, device, deviceId, cleanup } = await embeddedTelemetry(() => {}, 'info');
 * await device.publishAsync(`devices/${deviceId}/telemetry`, '{}', { qos: 1 });
 */
export async function embeddedTelemetry(
  handle: () => void | Promise<void>,
  level: 'debug' | 'info',
): Promise<EmbeddedTelemetry> {
  const deviceId = `d-${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const routes = createRouteTable();
  routes.on('devices/{deviceId}/telemetry', handle, { qos: 1 });
  const log = capturingLogger(level);
  const env = { MQTT_BROKER_HOST: '127.0.0.1', MQTT_BROKER_PORT: String(port), LOG_LEVEL: level };
  const server = await createServer({ env, routes, log: log.logger });
  await server.start();
  const device = await connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: deviceId,
    username: deviceId,
    password: 'x',
    reconnectPeriod: 0,
  });
  device.on('error', () => {});
  const cleanup = async () => {
    await device.endAsync(true);
    await server.stop();
  };
  return { server, log, device, deviceId, cleanup };
}
