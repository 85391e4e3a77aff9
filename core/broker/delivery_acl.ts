/**
 * The topic ACL applied once more as each message is sent to a client (aedes's
 * `authorizeForward`), so that a device is never sent a message on a topic it may not
 * subscribe to, whatever put the message in its way.
 *
 * The SUBSCRIBE check alone does not ensure it. aedes sends a resumed persistent session the
 * QoS 1/2 messages queued for it (`emptyQueue` in aedes 1.2 `lib/handlers/connect.js`) with no
 * check but this hook, and which account holds a client id is known only to the process
 * (`createAccessControl`): with a persistence that outlives it, or that two apps share, a device
 * can connect under another account's client id after a restart and resume that session. Its
 * stored subscriptions are checked again, and the refused ones removed (`restored_subscriptions.ts`),
 * but the messages already queued for it would be sent.
 *
 * A message refused here is not sent. aedes clears a refused queued QoS 1/2 message from the
 * session (`outgoingClearMessageId`), so the session does not wait on it: it is lost for the
 * account that owned the session, as it must not reach the one that took it.
 */
import type { Client } from 'aedes';
import type { Logger } from '../logger.js';
import type { AccessControl } from './access_control.js';
import { principalLogFields } from './principal.js';

/** Says whether to send a message on `topic` to `client`, logging a refusal. */
export type DeliveryCheck = (client: Client, topic: string, qos: number) => boolean;

/**
 * Builds the check. It runs for every message sent: a service costs one lookup. The first
 * refusal for a connection is logged as a warning, the next ones at debug level: a session
 * taken over may hold a thousand queued messages (`MQTT_BROKER_MAX_QUEUED`).
 */
export function deliveryAcl(access: AccessControl, logger: Logger): DeliveryCheck {
  const warned = new WeakSet<Client>();
  return (client, topic, qos) => {
    if (access.mayReceive(client, topic)) return true;
    const level = warned.has(client) ? 'debug' : 'warn';
    warned.add(client);
    logger[level](
      { clientId: client.id, ...principalLogFields(access.principalOf(client)), topic, qos },
      'mqtt message not sent: its topic is outside the topic ACL of the client it was for',
    );
    return false;
  };
}
