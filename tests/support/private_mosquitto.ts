/** A Mosquitto of a test's own, for what the shared one on 1883 must not be put through (a restart). */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
 * restart loses every session), resolving once it takes a connection.
 *
 * @example
 * const broker = await startPrivateMosquitto();
 * await broker.stop(); // every session gone
 * await broker.start();
 */
export async function startPrivateMosquitto(): Promise<PrivateMosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'topiq-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
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
