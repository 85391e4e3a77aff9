/** A Mosquitto of a test's own, for what the shared one on 1883 must not be put through (a restart). */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from './net.js';
import { until } from './until.js';

/** A private Mosquitto: `stop()` ends it, `start()` runs it again on the same port, `dispose()` cleans up. */
export interface PrivateMosquitto {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Starts `mosquitto` on a free loopback port with anonymous access and no persistence (a
 * restart loses every session), or with it (`persistence: true`: sessions are saved as it
 * stops and restored as it starts, as the shipped config does), resolving once it takes a
 * connection.
 *
 * @example
 * const broker = await startPrivateMosquitto();
 * await broker.stop(); // every session gone
 * await broker.start();
 */
export async function startPrivateMosquitto(
  options: { persistence?: boolean } = {},
): Promise<PrivateMosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'topiq-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  // Mosquitto started as root runs as its own user, which must be able to write its database
  if (options.persistence) chmodSync(dir, 0o777);
  const persistence = options.persistence
    ? `persistence true\npersistence_location ${dir}/\n`
    : 'persistence false\n';
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\n${persistence}`);
  const url = `mqtt://127.0.0.1:${port}`;
  let running: ChildProcess | undefined;
  const broker: PrivateMosquitto = {
    port,
    url,
    async start() {
      running = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
      await until('the private Mosquitto takes a connection', async () => {
        const probe = await mqtt.connectAsync(url, { reconnectPeriod: 0 }).catch(() => undefined);
        await probe?.endAsync(true);
        return probe !== undefined;
      });
    },
    async stop() {
      const child = running;
      running = undefined;
      if (!child || child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      });
    },
    async dispose() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
