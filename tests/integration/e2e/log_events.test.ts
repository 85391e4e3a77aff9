/**
 * Every log line names its event (`event`), so a log pipeline can select lines without parsing
 * their text: the embedded broker's and the MQTT client's lines included.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../../bootstrap/server.js';
import { createRouteTable } from '../../../core/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { embeddedTelemetry } from '../../support/embedded_telemetry.js';
import { discardSession } from '../../support/mqtt_sessions.js';
import { mosquittoUrl, sleep, waitFor } from '../mqtt/mqtt_test_support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The lines of `lines` without an `event` field, as `level msg`. */
const unnamed = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => typeof line.event !== 'string').map((line) => `${line.level} ${line.msg}`);

describe('log lines', () => {
  it('of a server on its embedded broker, its devices refused and accepted, each name their event', async () => {
    let handled = 0;
    const { log, device, deviceId, cleanup } = await embeddedTelemetry(() => {
      handled++;
    }, 'debug');
    cleanups.push(cleanup);
    await device.publishAsync(`devices/${deviceId}/telemetry`, '{"temperature":1}', { qos: 1 });
    await waitFor(() => handled === 1);
    await device.subscribeAsync(`devices/other-${deviceId}/#`).catch(() => {}); // refused by its ACL
    // refused by its ACL too: the broker closes the connection
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    void device.publishAsync(`devices/other-${deviceId}/telemetry`, '{}', { qos: 1 }).catch(() => {});
    await closed;
    await cleanup();
    expect(log.lines.some((line) => line.event === 'broker.publish_refused')).toBe(true);
    expect(log.lines.length).toBeGreaterThan(5);
    expect(unnamed(log.lines)).toEqual([]);
  });

  it('of a server on an external broker, connecting, subscribing and closing, each name their event', async () => {
    const id = randomBytes(4).toString('hex');
    const clientId = `log-events-${id}`;
    cleanups.push(() => discardSession(mosquittoUrl, clientId, 5));
    const routes = createRouteTable();
    routes.on(`log-events/${id}/+`, () => {}, { qos: 1, shared: true });
    const log = capturingLogger('debug');
    const env = { MQTT_URL: mosquittoUrl, MQTT_CLIENT_ID: clientId, LOG_LEVEL: 'debug' };
    const server = await createServer({ env, routes, log: log.logger });
    cleanups.push(() => server.stop());
    await server.start();
    await sleep(100);
    await server.stop();
    expect(log.lines.some((line) => line.event === 'mqtt.connected')).toBe(true);
    expect(unnamed(log.lines)).toEqual([]);
  });
});
