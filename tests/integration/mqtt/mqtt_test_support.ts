/**
 * Helpers for the MqttConnection integration tests: a bare aedes broker on a chosen
 * port (restartable on the same port), a plain publisher client, and polling.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';

/** Mosquitto running on this machine for the integration suite. */
export const mosquittoUrl = 'mqtt://127.0.0.1:1883';

/** An aedes broker listening on 127.0.0.1:`port`. */
export interface TestBroker {
  broker: Aedes;
  url: string;
  stop(): Promise<void>;
}

/** Starts a bare in-memory aedes on `port` (MQTT 3.1.1 only). */
export async function startAedes(port: number, options: AedesOptions = {}): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    broker,
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A plain mqtt.js client for publishing test messages. */
export function publisher(url: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  return connectAsync(url, {
    protocolVersion,
    reconnectPeriod: 0,
    clientId: `topiq-test-pub-${randomUUID()}`,
  });
}

/** A fresh topic prefix and client id, so tests never see each other's messages. */
export function uniqueNames(label: string): { prefix: string; clientId: string } {
  const id = randomUUID().slice(0, 8);
  return { prefix: `topiq-test/${label}/${id}`, clientId: `topiq-test-${label}-${id}` };
}

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function, for consumers that finish when a test says so. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/**
 * Settles the held consumer calls in `held` (their resolve functions), again and again as more
 * come, until `done()` holds or `timeoutMs` passes; then settles what is left.
 */
export async function settleHeldUntil(
  held: Array<() => void>,
  done: () => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) {
    for (const resolve of held.splice(0)) resolve();
    await sleep(10);
  }
  for (const resolve of held.splice(0)) resolve();
}

/** Whether `connection` stayed online, checked every 20 ms, for `ms` milliseconds. */
export async function staysOnline(connection: { readonly isOnline: boolean }, ms: number): Promise<boolean> {
  let online = true;
  const watch = setInterval(() => {
    if (!connection.isOnline) online = false;
  }, 20);
  await sleep(ms);
  clearInterval(watch);
  return online && connection.isOnline;
}
