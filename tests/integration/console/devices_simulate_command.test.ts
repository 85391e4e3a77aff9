/**
 * `devices:simulate` run in-process through the kernel and the real command registry,
 * against a bare aedes broker on a free port, with a subscriber counting what arrives.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands } from '../../../bootstrap/console.js';
import type { SimulationSummary } from '../../../bootstrap/commands/simulation/publish_stats.js';
import { ExitCode, Kernel } from '../../../core/console/index.js';
import { freePort } from '../../support/net.js';
import { captureIO } from '../../unit/console/capture_io.js';

let broker: Aedes;
let server: Server;
let url: string;
let subscriber: MqttClient;
const sockets = new Set<Socket>();
const received: { topic: string; payload: Record<string, unknown> }[] = [];
const usernames = new Set<string>();
const clientIds = new Set<string>();

beforeEach(async () => {
  received.length = 0;
  usernames.clear();
  clientIds.clear();
  broker = await Aedes.createBroker();
  broker.authenticate = (client, username, _password, done) => {
    if (username) usernames.add(username);
    if (username) clientIds.add(client.id);
    done(null, true);
  };
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${port}`;
  subscriber = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  subscriber.on('message', (topic, payload) => {
    received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
  await subscriber.subscribeAsync('devices/#', { qos: 1 });
});

afterEach(async () => {
  await subscriber.endAsync();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function run(argv: string[]) {
  const io = captureIO();
  const signals = new EventEmitter();
  const forceExit = vi.fn();
  const createApplication = vi.fn(() => {
    throw new Error('devices:simulate must not build the application');
  });
  const kernel = new Kernel({ commands, io, signals, forceExit, createApplication });
  return { io, signals, forceExit, createApplication, exit: kernel.handle(argv) };
}

const telemetry = () => received.filter((message) => message.topic.endsWith('/telemetry'));

describe('devices:simulate', () => {
  it('publishes each device its rate of telemetry, under its own id, and reports no failures', async () => {
    const { io, exit, createApplication } = run([
      'devices:simulate',
      '--devices',
      '3',
      '--rate',
      '20',
      '--duration',
      '1',
      '--url',
      url,
      '--json',
    ]);
    expect(await exit).toBe(ExitCode.ok);
    expect(createApplication).not.toHaveBeenCalled();
    const summary = JSON.parse(io.out) as SimulationSummary;
    expect(summary).toMatchObject({ devices: 3, qos: 1, telemetry: 60, failed: 0, stoppedEarly: false });
    expect(summary.acknowledged).toBe(summary.sent);
    expect(summary.latencyMs?.p99).toBeGreaterThanOrEqual(summary.latencyMs?.p50 ?? Infinity);

    // Every QoS 1 publish was acknowledged before the simulator disconnected, so the
    // subscriber has them all (allow a moment for the last to be forwarded).
    await vi.waitFor(() => expect(telemetry().length).toBe(60), { timeout: 2000 });
    const ids = new Set(telemetry().map((message) => message.topic.split('/')[1]));
    expect([...ids].sort()).toEqual(['sensor-1', 'sensor-2', 'sensor-3']);
    expect([...usernames].sort()).toEqual(['sensor-1', 'sensor-2', 'sensor-3']);
    // client ids of their own, so two runs do not knock each other off
    expect([...clientIds].sort()).toEqual([
      expect.stringMatching(/^sensor-1-sim-[0-9a-f]{6}$/),
      expect.stringMatching(/^sensor-2-sim-[0-9a-f]{6}$/),
      expect.stringMatching(/^sensor-3-sim-[0-9a-f]{6}$/),
    ]);
    for (const id of ids)
      expect(telemetry().filter((m) => m.topic === `devices/${id}/telemetry`)).toHaveLength(20);
    expect(telemetry()[0]!.payload).toMatchObject({
      temperature: expect.any(Number),
      humidity: expect.any(Number),
    });
    const statuses = received.filter((message) => message.topic.endsWith('/status'));
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(statuses[0]!.payload).toMatchObject({ online: true, battery: expect.any(Number) });
  });

  it('connects each device with its device id as client id when MQTT_BROKER_CLIENT_IDS is device-id', async () => {
    vi.stubEnv('MQTT_BROKER_CLIENT_IDS', 'device-id');
    try {
      const { exit } = run([
        'devices:simulate',
        '--devices',
        '2',
        '--rate',
        '10',
        '--duration',
        '0.2',
        '--url',
        url,
        '--json',
      ]);
      expect(await exit).toBe(ExitCode.ok);
      expect([...clientIds].sort()).toEqual(['sensor-1', 'sensor-2']);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('prints a text summary with sent, acknowledged, failed, throughput and latency', async () => {
    const { io, exit } = run([
      'devices:simulate',
      '--devices',
      '2',
      '--rate',
      '10',
      '--duration',
      '0.5',
      '--url',
      url,
    ]);
    expect(await exit).toBe(ExitCode.ok);
    expect(io.out).toMatch(/^Simulating 2 devices \(sensor-1…sensor-2\)/);
    expect(io.out).toMatch(/sent\s+\d+ \(10 telemetry, \d+ status\)/);
    expect(io.out).toMatch(/acknowledged\s+\d+/);
    expect(io.out).toMatch(/failed\s+0\n/);
    expect(io.out).toMatch(/throughput\s+[\d.]+ msg\/s/);
    expect(io.out).toMatch(/latency p50\s+[\d.]+ ms/);
    expect(io.out).toMatch(/latency p99\s+[\d.]+ ms/);
  });

  it('stops early on Ctrl-C, still prints the summary and disconnects every device', async () => {
    const { io, signals, exit, forceExit } = run([
      'devices:simulate',
      '--devices',
      '2',
      '--rate',
      '10',
      '--duration',
      '30',
      '--url',
      url,
      '--json',
    ]);
    await vi.waitFor(() => expect(telemetry().length).toBeGreaterThanOrEqual(4), { timeout: 5000 });
    signals.emit('SIGINT', 'SIGINT');
    expect(await exit).toBe(ExitCode.ok);
    expect(forceExit).not.toHaveBeenCalled();
    const summary = JSON.parse(io.out) as SimulationSummary;
    expect(summary.stoppedEarly).toBe(true);
    expect(summary.failed).toBe(0);
    expect(summary.seconds).toBeLessThan(30);
    // Only the subscriber is left connected.
    await vi.waitFor(() => expect(broker.connectedClients).toBe(1), { timeout: 2000 });
  });

  it('fails with E_BROKER_UNAVAILABLE when the broker refuses a device', async () => {
    broker.authenticate = (_client, username, _password, done) => {
      if (username === 'sensor-2') {
        done(Object.assign(new Error('bad password'), { returnCode: 4 as never }), false);
      } else done(null, true);
    };
    const { io, exit } = run(['devices:simulate', '--devices', '3', '--duration', '1', '--url', url]);
    expect(await exit).toBe(ExitCode.failure);
    expect(io.err).toMatch(/E_BROKER_UNAVAILABLE: device sensor-2 could not connect/);
    expect(io.err).toMatch(/--password/);
    await vi.waitFor(() => expect(broker.connectedClients).toBe(1), { timeout: 2000 });
  });

  it('rejects bad flags with exit code 2 before connecting', async () => {
    for (const argv of [
      ['--devices', '0'],
      ['--rate', '0'],
      ['--duration', '-1'],
      ['--duration', '0.5', '--rate', '1'], // too short for every device to publish once
      ['--duration', '0.3', '--rate', '3'],
      ['--qos', '3'],
      ['--url', 'http://example.com'],
      ['--prefix', 'a/b'],
    ]) {
      const { io, exit } = run(['devices:simulate', ...argv]);
      expect(await exit).toBe(ExitCode.usage);
      expect(io.err).toMatch(/E_CLI_USAGE/);
    }
    // the least duration it names is one that passes
    const { io, exit } = run(['devices:simulate', '--duration', '0.3', '--rate', '3', '--url', url]);
    expect(await exit).toBe(ExitCode.usage);
    expect(io.err).toContain('at least 0.334 s');
    expect(usernames.size).toBe(0);
  });
});
