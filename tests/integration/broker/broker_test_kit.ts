/**
 * Shared set-up for the embedded broker's integration tests: a broker on a free
 * loopback port with a few known accounts, real mqtt.js clients, a logger whose lines
 * can be inspected, and one `cleanup()` that ends everything a test opened.
 */
import { Writable } from 'node:stream';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  startEmbeddedBroker,
} from '../../../core/broker/index.js';
import { staticCredentials } from '../../../core/broker/static_credentials.js';
import { createLogger, type Logger } from '../../../core/logger.js';
import { freePort } from '../../support/net.js';

export const accounts = {
  sensor1: { username: 'sensor-1', password: 'pw-sensor-1', deviceId: 'sensor-1' },
  sensor2: { username: 'sensor-2', password: 'pw-sensor-2', deviceId: 'sensor-2' },
  app: { username: 'topiq-app', password: 'pw-app' },
} as const;

/** A logger that keeps every line it writes, parsed. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

/** Tracks brokers and clients a test opened, so `cleanup()` can end them all. */
export class BrokerTestKit {
  readonly #brokers: EmbeddedBroker[] = [];
  readonly #clients: MqttClient[] = [];
  readonly log = capturingLogger();

  /** Starts a broker on a free 127.0.0.1 port with the test accounts. */
  async startBroker(overrides: Partial<EmbeddedBrokerOptions> = {}): Promise<EmbeddedBroker> {
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: await freePort(),
      logger: this.log.logger,
      credentials: staticCredentials(Object.values(accounts)),
      ...overrides,
    });
    this.#brokers.push(broker);
    return broker;
  }

  /** Opens a client that does not reconnect; resolves once it is connected. */
  async connect(broker: EmbeddedBroker, options: IClientOptions = {}): Promise<MqttClient> {
    const client = this.open(broker, options);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  }

  /** Opens a client without waiting for the outcome of CONNECT. */
  open(broker: EmbeddedBroker, options: IClientOptions = {}): MqttClient {
    const client = mqtt.connect(broker.url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    this.#clients.push(client);
    return client;
  }

  /** Resolves with the error a refused CONNECT produces. */
  refusal(broker: EmbeddedBroker, options: IClientOptions = {}): Promise<Error & { code?: number }> {
    const client = this.open(broker, options);
    return new Promise((resolve, reject) => {
      client.once('connect', () => reject(new Error('the broker accepted the connection')));
      client.once('error', resolve);
    });
  }

  /**
   * The retained messages a fresh subscriber to `filter` receives, as sorted `topic payload`
   * lines: the broker sends them right after the SUBACK, so a message the reader publishes to
   * itself afterwards marks their end.
   */
  async retainedUnder(broker: EmbeddedBroker, filter: string): Promise<string[]> {
    const reader = await this.connect(broker, accounts.app);
    const received: string[] = [];
    reader.on('message', (topic, payload, packet) => {
      if (packet.retain) received.push(`${topic} ${payload.toString()}`);
    });
    await reader.subscribeAsync([filter, 'control/end'], { qos: 1 });
    const end = nextMessage(reader, 'control/end');
    await reader.publishAsync('control/end', 'x', { qos: 1 });
    await end;
    await reader.endAsync();
    return received.sort();
  }

  /** Lines logged with this message. */
  logged(message: string): Record<string, unknown>[] {
    return this.log.lines.filter((line) => line.msg === message);
  }

  /** Resolves once a line with this message has been logged. */
  async waitForLog(message: string): Promise<void> {
    while (this.logged(message).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((client) => client.endAsync(true)));
    await Promise.all(this.#brokers.splice(0).map((broker) => broker.close()));
    this.log.lines.length = 0;
  }
}

/** Resolves when `client`'s connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** Collects the messages `client` receives, as `topic payload` strings. */
export function inbox(client: MqttClient): string[] {
  const received: string[] = [];
  client.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  return received;
}

/** Resolves when `client` receives a message on `topic`. */
export function nextMessage(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return;
      client.off('message', onMessage);
      resolve(payload.toString());
    };
    client.on('message', onMessage);
  });
}

/** The QoS the broker granted `client` for `filter`: 128 for a refusal (mqtt.js rejects those). */
export async function grantedQos(client: MqttClient, filter: string, qos: 0 | 1 | 2 = 0): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos }))[0]?.qos ?? -1;
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw error;
    return granted[0] ?? -1;
  }
}
