/**
 * Reads a refusing CONNACK: what went wrong, whether trying again can help, and what the
 * operator should do. Used to fail `connect()` at once on bad credentials instead of
 * retrying until the timeout.
 */
import type { Packet } from 'mqtt';

/** Why a broker refused a connection. */
export interface Refusal {
  code: number;
  reason: string;
  /** True when retrying with the same settings cannot succeed. */
  permanent: boolean;
  /** What to change. */
  advice: string;
}

const credentials =
  "Check the username and password the connection was given (the app's MQTT_USERNAME and MQTT_PASSWORD).";
// Mosquitto 2 answers a wrong password with "not authorized", not "bad user name or password",
// so this code does not tell a bad password from a missing ACL entry.
const notAuthorized =
  "Check the username and password the connection was given (the app's MQTT_USERNAME and MQTT_PASSWORD: " +
  'Mosquitto 2 refuses a wrong password this way), then that the broker ACL allows this client id and user.';
const authorization = 'Allow this client id and user in the broker ACL.';
const protocol =
  'The broker does not speak MQTT 5: set MQTT_PROTOCOL_VERSION=4 (MQTT 3.1.1; protocolVersion: 4 in code). ' +
  "Another Topiq app's embedded broker is such a broker.";
const clientId = 'Use a client id the broker accepts (MQTT 3.1.1 brokers may limit it to 23 characters).';
const busy = 'The broker is overloaded or restarting; Topiq keeps retrying.';

// MQTT 3.1.1 CONNACK return codes (§3.2.2.3).
const v3: Record<number, Omit<Refusal, 'code'>> = {
  1: { reason: 'unacceptable protocol version', permanent: true, advice: protocol },
  2: { reason: 'client identifier rejected', permanent: true, advice: clientId },
  3: { reason: 'server unavailable', permanent: false, advice: busy },
  4: { reason: 'bad user name or password', permanent: true, advice: credentials },
  5: { reason: 'not authorized', permanent: true, advice: notAuthorized },
};

// MQTT 5 CONNACK reason codes (§3.2.2.2); anything else is treated as permanent.
const v5: Record<number, Omit<Refusal, 'code'>> = {
  132: { reason: 'unsupported protocol version', permanent: true, advice: protocol },
  133: { reason: 'client identifier not valid', permanent: true, advice: clientId },
  134: { reason: 'bad user name or password', permanent: true, advice: credentials },
  135: { reason: 'not authorized', permanent: true, advice: notAuthorized },
  136: { reason: 'server unavailable', permanent: false, advice: busy },
  137: { reason: 'server busy', permanent: false, advice: busy },
  138: { reason: 'banned', permanent: true, advice: authorization },
  151: { reason: 'quota exceeded', permanent: false, advice: busy },
  159: { reason: 'connection rate exceeded', permanent: false, advice: busy },
};

/**
 * The refusal a CONNACK carries, or undefined when it accepts the connection (or is not
 * a CONNACK). A 3.1.1-only broker answers an MQTT 5 CONNECT with a 3.1.1 return code,
 * which is why codes below 0x80 are read as 3.1.1 codes even under MQTT 5.
 *
 * @example
 * connackRefusal(packet, 5)?.advice; // 'Check the username and password ...'
 */
export function connackRefusal(packet: Packet, protocolVersion: 4 | 5): Refusal | undefined {
  if (packet.cmd !== 'connack') return undefined;
  const code = (protocolVersion === 5 ? packet.reasonCode : packet.returnCode) ?? 0;
  if (code === 0) return undefined;
  const known = code < 0x80 ? v3[code] : v5[code];
  return {
    code,
    ...(known ?? {
      reason: `refused with code 0x${code.toString(16)}`,
      permanent: true,
      advice: authorization,
    }),
  };
}
