/**
 * Subscriptions: what the app asks the broker for, how a request is checked before it
 * is sent, and the error raised when the broker refuses part of it.
 */
import { ErrorWithSubackPacket, type MqttClient, validateTopic } from 'mqtt';
import { BrokerUnavailableError, InvalidOptionError, TopiqError } from '../errors.js';
import type { QoS } from './mqtt_message.js';

/** One topic filter and the QoS the app wants for it. */
export interface Subscription {
  /** A topic filter, e.g. `devices/+/telemetry`, or a shared one, `$share/ingest/devices/#`. */
  filter: string;
  qos: QoS;
}

/** A filter the broker would not subscribe, with its SUBACK reason code. */
export interface RefusedSubscription {
  filter: string;
  reasonCode: number;
  reason: string;
}

// SUBACK failure codes: 0x80 is the only one in MQTT 3.1.1; the rest are MQTT 5 (§3.9.3).
const subackReasons: Record<number, string> = {
  128: 'unspecified error (MQTT 3.1.1: failure)',
  131: 'implementation specific error',
  135: 'not authorized: the broker ACL does not allow this filter for these credentials',
  143: 'topic filter invalid',
  145: 'packet identifier in use',
  151: 'quota exceeded',
  158: 'shared subscriptions not supported by this broker',
  161: 'subscription identifiers not supported',
  162: 'wildcard subscriptions not supported by this broker',
};

/**
 * The broker refused one or more filters of a subscribe call (SUBACK reason ≥ 0x80).
 * Filters of the same call that were granted stay subscribed.
 *
 * Carries `E_INVALID_ROUTE` until the catalogue has a code of its own for refusals: the
 * filters come from routes, and a refused one means that route will never receive.
 *
 * @example
 * try {
 *   await connection.subscribe([{ filter: 'admin/#', qos: 1 }]);
 * } catch (error) {
 *   if (error instanceof SubscriptionRefusedError) log.error({ refused: error.refused }, error.message);
 * }
 */
export class SubscriptionRefusedError extends TopiqError {
  readonly refused: RefusedSubscription[];

  constructor(refused: RefusedSubscription[], brokerUrl: string, options?: { cause?: unknown }) {
    const list = refused.map(
      (entry) => `"${entry.filter}" (0x${entry.reasonCode.toString(16)} ${entry.reason})`,
    );
    super(
      'E_INVALID_ROUTE',
      `The MQTT broker at ${brokerUrl} refused to subscribe ${list.join(', ')}. ` +
        'Check the broker ACL for this client, the filter syntax, and that the broker supports ' +
        'shared subscriptions when using $share/.',
      options,
    );
    this.refused = refused;
  }
}

/** Whether `filter` is a shared subscription (`$share/<group>/<filter>`, MQTT 5 and Mosquitto). */
export function isSharedFilter(filter: string): boolean {
  return filter.startsWith('$share/');
}

/** Describes a SUBACK reason code for people. */
export function describeSubackCode(code: number): string {
  return subackReasons[code] ?? 'refused';
}

/**
 * Checks a subscribe request and merges repeated filters (the highest QoS wins).
 * Throws InvalidOptionError for an empty list, a malformed filter or a bad QoS.
 *
 * @example
 * normalizeSubscriptions([{ filter: '$share/ingest/devices/+/up', qos: 1 }]);
 */
export function normalizeSubscriptions(subscriptions: readonly Subscription[]): Map<string, QoS> {
  if (subscriptions.length === 0) {
    throw new InvalidOptionError('subscribe() needs at least one { filter, qos }.');
  }
  const merged = new Map<string, QoS>();
  for (const { filter, qos } of subscriptions) {
    if (filter.length === 0 || !validateTopic(filter) || !validShare(filter)) {
      throw new InvalidOptionError(
        `"${filter}" is not a valid MQTT topic filter: '+' and '#' must fill a whole level and '#' ` +
          'must come last; a shared filter reads $share/<group>/<filter>.',
      );
    }
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      throw new InvalidOptionError(`QoS of "${filter}" must be 0, 1 or 2, got ${String(qos)}.`);
    }
    merged.set(filter, Math.max(merged.get(filter) ?? 0, qos) as QoS);
  }
  return merged;
}

function validShare(filter: string): boolean {
  if (!isSharedFilter(filter)) return true;
  const [, group, ...rest] = filter.split('/');
  return group !== undefined && group.length > 0 && !/[+#]/.test(group) && rest.join('/').length > 0;
}

/**
 * Sends one SUBSCRIBE for `wanted` and returns the filters the broker refused (empty when
 * all were granted). Rejects with BrokerUnavailableError when the connection drops first.
 *
 * @example
 * const refused = await subscribeOnce(client, new Map([['devices/#', 1]]), 'mqtt://127.0.0.1:1883');
 */
export async function subscribeOnce(
  client: MqttClient,
  wanted: ReadonlyMap<string, QoS>,
  brokerUrl: string,
  options: { noRetainedForShared?: boolean } = {},
): Promise<RefusedSubscription[]> {
  // MQTT 5 sends a shared subscription no retained messages; Mosquitto before 2.0.13 does, on
  // every SUBSCRIBE, unless told not to (Retain Handling 2, MQTT 5 only)
  const noRetained = (filter: string) => options.noRetainedForShared === true && isSharedFilter(filter);
  const request = Object.fromEntries(
    [...wanted].map(([filter, qos]) => [filter, noRetained(filter) ? { qos, rh: 2 as const } : { qos }]),
  );
  // mqtt.js sends the filters in Object.keys order, so SUBACK codes line up with this list.
  const order = Object.keys(request);
  try {
    await client.subscribeAsync(request);
    return [];
  } catch (error) {
    if (!(error instanceof ErrorWithSubackPacket) || !error.packet) {
      throw new BrokerUnavailableError(
        `The MQTT connection to ${brokerUrl} dropped before the broker confirmed subscribing ` +
          `${order.join(', ')}; call subscribe() again once connected.`,
        { cause: error },
      );
    }
    return error.packet.granted.flatMap((code, index) =>
      typeof code === 'number' && code >= 0x80
        ? [{ filter: order[index] ?? '?', reasonCode: code, reason: describeSubackCode(code) }]
        : [],
    );
  }
}
