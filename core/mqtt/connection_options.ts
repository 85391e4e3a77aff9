/**
 * Options of an {@link MqttConnection}, their defaults, and their validation (done once,
 * when the connection is built, so a bad value fails at start-up, not at 3 a.m.).
 */
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { BackoffPolicy } from './backoff.js';
import type { MqttMessage } from './mqtt_message.js';

/**
 * Receives every message. The broker's acknowledgement is sent only once the returned
 * promise settles (and every earlier message's has): resolve after the message is safely
 * stored. A rejection still acknowledges the message; dead-lettering is the consumer's job.
 * For QoS 2 the deferred packet is PUBCOMP (mqtt.js sends PUBREC on receipt), so only QoS 1
 * survives the process crashing mid-message; see `mqtt_internals.ts`.
 */
export type MessageConsumer = (message: MqttMessage) => Promise<void> | void;

/** What {@link MqttConnection} is built from. */
export interface MqttConnectionOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883` or `mqtts://broker.example.com:8883`. */
  url: string;
  /** Fixed client id: the broker keys the persistent session on it. */
  clientId: string;
  /** Called for every message; see {@link MessageConsumer}. */
  onMessage: MessageConsumer;
  /** 5 (default) or 4 for brokers that only speak MQTT 3.1.1 (e.g. aedes). */
  protocolVersion?: 4 | 5;
  username?: string;
  password?: string;
  /** Seconds between keepalive pings. Default 30. */
  keepaliveSeconds?: number;
  /** How long {@link MqttConnection.connect} keeps trying before it gives up. Default 10 000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff. Default `{ baseMs: 500, maxMs: 30_000 }`. */
  reconnect?: Partial<BackoffPolicy>;
  /**
   * Most messages handed to the consumer but not yet acknowledged. Advertised to MQTT 5
   * brokers as Receive Maximum; when a broker sends more anyway, reading stops until
   * acknowledgements catch up. Default 1000.
   */
  maxInFlight?: number;
  /** MQTT 5: how long the broker keeps the session after a disconnect. Default 86 400 (a day). */
  sessionExpirySeconds?: number;
  /** Parent logger; the connection logs through a child bound to `component` and `clientId`. */
  logger?: Logger;
}

/** {@link MqttConnectionOptions} with every default filled in. */
export interface ResolvedConnectionOptions {
  url: string;
  clientId: string;
  onMessage: MessageConsumer;
  protocolVersion: 4 | 5;
  username: string | undefined;
  password: string | undefined;
  keepaliveSeconds: number;
  connectTimeoutMs: number;
  reconnect: BackoffPolicy;
  maxInFlight: number;
  sessionExpirySeconds: number;
  logger: Logger;
}

function requireInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(
      `MQTT option ${name} must be an integer from ${min} to ${max}, got ${String(value)}.`,
    );
  }
  return value;
}

/**
 * Fills in defaults and checks ranges; throws InvalidOptionError on the first bad value.
 *
 * @example
 * const options = resolveConnectionOptions({ url, clientId: 'ingest-1', onMessage });
 * options.maxInFlight; // 1000
 */
export function resolveConnectionOptions(options: MqttConnectionOptions): ResolvedConnectionOptions {
  if (!/^(mqtts?|tcp|ssl|wss?):\/\//.test(options.url)) {
    throw new InvalidOptionError(
      `MQTT option url must look like mqtt://host:1883 (or mqtts://, ws://, wss://), got "${options.url}".`,
    );
  }
  if (options.clientId.length === 0 || options.clientId.length > 65_535) {
    throw new InvalidOptionError(
      'MQTT option clientId must be a fixed, non-empty id: the broker keeps the persistent session under it.',
    );
  }
  const protocolVersion = options.protocolVersion ?? 5;
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    throw new InvalidOptionError(
      `MQTT option protocolVersion must be 5 or 4 (3.1.1), got ${protocolVersion}.`,
    );
  }
  const baseMs = requireInteger('reconnect.baseMs', options.reconnect?.baseMs ?? 500, 1, 3_600_000);
  const maxMs = requireInteger('reconnect.maxMs', options.reconnect?.maxMs ?? 30_000, baseMs, 3_600_000);
  return {
    url: options.url,
    clientId: options.clientId,
    onMessage: options.onMessage,
    protocolVersion,
    username: options.username,
    password: options.password,
    keepaliveSeconds: requireInteger('keepaliveSeconds', options.keepaliveSeconds ?? 30, 0, 65_535),
    connectTimeoutMs: requireInteger('connectTimeoutMs', options.connectTimeoutMs ?? 10_000, 1, 3_600_000),
    reconnect: { baseMs, maxMs },
    maxInFlight: requireInteger('maxInFlight', options.maxInFlight ?? 1000, 1, 65_535),
    sessionExpirySeconds: requireInteger(
      'sessionExpirySeconds',
      options.sessionExpirySeconds ?? 86_400,
      1,
      0xffff_ffff,
    ),
    logger: options.logger ?? silentLogger(),
  };
}

/** The URL with any password replaced, safe for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
