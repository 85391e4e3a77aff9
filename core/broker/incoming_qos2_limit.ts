/**
 * Bounds the QoS 2 messages the embedded broker holds from each client between their PUBLISH
 * and PUBREL. aedes stores each such message by client id until its PUBREL (or a clean
 * session) comes, and bounds them per connection only (`maxInflightInbound`): a device that
 * connects again with clean session off, sending new QoS 2 messages and never a PUBREL, starts
 * that count at 0 each time while the store keeps every earlier one, up to 65,535 messages of
 * up to `MQTT_BROKER_MAX_PACKET_BYTES` per client id, and a device may hold several. Past
 * `maxMessages` messages or `maxBytes` of payload held from one client id, or from all of one
 * device's client ids together, a new QoS 2 message is refused: aedes closes the connection
 * (MQTT 3.1.1 has no other answer), and the device sends the message again, after the PUBRELs
 * it owes, when it connects again. A device that releases what it sends never comes near it.
 *
 * It wraps the incoming methods of aedes's persistence instance, counting per client id what
 * they add and take away, as they are called (the in-memory store changes at the call too).
 * The counts start at the broker's start, as those of the outgoing queues do.
 */
import type { Logger } from '../logger.js';
import { payloadBytes, type QueueLimits } from './outgoing_queue_limit.js';

/** The defaults of {@link limitIncomingQos2}: aedes's own per-connection count, and 16 MiB. */
export const DEFAULT_INCOMING_LIMITS: QueueLimits = { maxMessages: 1000, maxBytes: 16 * 1024 * 1024 };

interface IncomingPacket {
  messageId?: number;
  payload?: Buffer | string;
}

/** The methods of an aedes persistence this wraps. */
export interface IncomingStore {
  incomingStorePacket(client: { id: string }, packet: IncomingPacket): Promise<void>;
  incomingDelPacket(client: { id: string }, packet: IncomingPacket): Promise<void>;
  cleanIncoming?(client: { id: string }): Promise<void>;
}

/** Messages and payload bytes held. */
interface Tally {
  messages: number;
  bytes: number;
}

interface Held extends Tally {
  /** The device account the client id belonged to when it was counted, if a device's. */
  readonly account: string | undefined;
  /** Payload bytes by packet id. */
  readonly packets: Map<number, number>;
}

/**
 * Installs the bound on `store` (aedes's `persistence`). `accountOf(clientId)` names the
 * device account a client id belongs to: one device's client ids share the bound (a service
 * account's, undefined here, are bounded each on its own).
 */
export function limitIncomingQos2(
  store: IncomingStore,
  limits: QueueLimits,
  logger: Logger,
  accountOf: (clientId: string) => string | undefined = () => undefined,
): void {
  const held = new Map<string, Held>();
  const accounts = new Map<string, Tally>();
  const storePacket = store.incomingStorePacket.bind(store);
  const delPacket = store.incomingDelPacket.bind(store);
  const clean = store.cleanIncoming?.bind(store);
  const fits = (tally: Tally, bytes: number): boolean =>
    tally.messages + 1 <= limits.maxMessages && tally.bytes + bytes <= limits.maxBytes;

  const add = (tally: Tally, messages: number, bytes: number): void => {
    tally.messages += messages;
    tally.bytes += bytes;
  };
  /** Takes packet `messageId` (all of them when undefined) off `clientId`'s count. */
  const forget = (clientId: string, messageId?: number): void => {
    const entry = held.get(clientId);
    if (entry === undefined) return;
    const gone = messageId === undefined ? [...entry.packets.keys()] : [messageId];
    const account = entry.account === undefined ? undefined : accounts.get(entry.account);
    for (const id of gone) {
      const bytes = entry.packets.get(id);
      if (bytes === undefined) continue;
      entry.packets.delete(id);
      add(entry, -1, -bytes);
      if (account) add(account, -1, -bytes);
    }
    if (entry.packets.size === 0) held.delete(clientId);
    if (account && account.messages === 0) accounts.delete(entry.account!);
  };

  store.incomingStorePacket = (client, packet) => {
    const { messageId } = packet;
    if (messageId === undefined) return storePacket(client, packet);
    const bytes = payloadBytes(packet.payload);
    // the same packet id again (a resend aedes did not find yet): it replaces the one held
    forget(client.id, messageId);
    let entry = held.get(client.id);
    const accountName = entry?.account ?? accountOf(client.id);
    const account =
      accountName === undefined ? undefined : (accounts.get(accountName) ?? { messages: 0, bytes: 0 });
    const clientTally = entry ?? { messages: 0, bytes: 0 };
    if (!fits(clientTally, bytes) || (account !== undefined && !fits(account, bytes))) {
      const whose = fits(clientTally, bytes) ? 'device' : 'client';
      logger.warn(
        {
          event: 'broker.qos2_refused',
          clientId: client.id,
          ...(accountName === undefined ? {} : { account: accountName }),
          held: whose === 'client' ? clientTally.messages : account!.messages,
          heldBytes: whose === 'client' ? clientTally.bytes : account!.bytes,
          ...limits,
        },
        `mqtt QoS 2 publish refused and connection closed: the ${whose} holds its limit of QoS 2 messages awaiting PUBREL`,
      );
      return Promise.reject(
        new Error(
          `the ${whose} holds ${limits.maxMessages} QoS 2 messages or ${limits.maxBytes} bytes awaiting PUBREL; send the PUBRELs owed first`,
        ),
      );
    }
    if (entry === undefined) {
      entry = { messages: 0, bytes: 0, account: accountName, packets: new Map() };
      held.set(client.id, entry);
    }
    entry.packets.set(messageId, bytes);
    add(entry, 1, bytes);
    if (account !== undefined) {
      add(account, 1, bytes);
      accounts.set(accountName!, account);
    }
    return storePacket(client, packet).catch((error: unknown) => {
      forget(client.id, messageId); // not stored: its place goes back
      throw error;
    });
  };

  store.incomingDelPacket = (client, packet) => {
    if (packet.messageId !== undefined) forget(client.id, packet.messageId);
    return delPacket(client, packet);
  };

  if (clean) {
    store.cleanIncoming = (client) => {
      forget(client.id);
      return clean(client);
    };
  }
}
