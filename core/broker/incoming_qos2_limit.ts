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
 * The broker asks {@link IncomingQos2Limit.admit} before it routes a new QoS 2 message (aedes
 * stores the packet only after it was routed), so a refused message is not routed, and its
 * resend is routed once. The incoming methods of aedes's persistence instance are wrapped too,
 * counting per client id what they add (a packet nothing admitted first) and take away, as
 * they are called (the in-memory store changes at the call too). The counts start at the
 * broker's start, as those of the outgoing queues do.
 */
import type { Logger } from '../logger.js';
import { fitsLimits, payloadBytes, type QueueLimits, type Tally } from './outgoing_queue_limit.js';

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

interface Held extends Tally {
  /** The device account the client id belonged to when it was counted, if a device's. */
  readonly account: string | undefined;
  /** Payload bytes by packet id. */
  readonly packets: Map<number, number>;
}

/** What {@link limitIncomingQos2} gives back. */
export interface IncomingQos2Limit {
  /**
   * Counts QoS 2 message `messageId` of `clientId`, about to be routed, then stored by aedes, if
   * it fits: false (logged as `broker.qos2_refused`) when it would pass the bound.
   */
  admit(clientId: string, messageId: number, bytes: number): boolean;
  /** Takes back what {@link IncomingQos2Limit.admit} counted for a message that will not be stored after all. */
  forget(clientId: string, messageId: number): void;
  /** Whether packet id `messageId` of `clientId` is counted (held, or admitted and being routed). */
  holds(clientId: string, messageId: number): boolean;
  /** Why a message past the bound is refused, for the client's connection error. */
  readonly refusal: string;
}

/** The error a QoS 2 publish past the bound is refused with (aedes then closes the connection). */
export class Qos2LimitRefusal extends Error {}

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
): IncomingQos2Limit {
  const held = new Map<string, Held>();
  const accounts = new Map<string, Tally>();
  const refusal = `the client (or its device) holds ${limits.maxMessages} QoS 2 messages or ${limits.maxBytes} bytes awaiting PUBREL; send the PUBRELs owed first`;
  const storePacket = store.incomingStorePacket.bind(store);
  const delPacket = store.incomingDelPacket.bind(store);
  const clean = store.cleanIncoming?.bind(store);
  const fits = (tally: Tally, bytes: number): boolean => fitsLimits(tally, bytes, limits);

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

  /** Counts the packet for `clientId` (and its device) when it fits; logs and answers false when not. */
  const admit = (clientId: string, messageId: number, bytes: number): boolean => {
    // a packet id held already (a copy without DUP of a message awaiting its PUBREL): aedes keeps
    // the first copy and stores nothing, so its count stays as it is
    if (held.get(clientId)?.packets.has(messageId)) return true;
    let entry = held.get(clientId);
    const accountName = entry?.account ?? accountOf(clientId);
    const account =
      accountName === undefined ? undefined : (accounts.get(accountName) ?? { messages: 0, bytes: 0 });
    const clientTally = entry ?? { messages: 0, bytes: 0 };
    if (!fits(clientTally, bytes) || (account !== undefined && !fits(account, bytes))) {
      const whose = fits(clientTally, bytes) ? 'device' : 'client';
      logger.warn(
        {
          event: 'broker.qos2_refused',
          clientId,
          ...(accountName === undefined ? {} : { account: accountName }),
          held: whose === 'client' ? clientTally.messages : account!.messages,
          heldBytes: whose === 'client' ? clientTally.bytes : account!.bytes,
          ...limits,
        },
        `mqtt QoS 2 publish refused and connection closed: the ${whose} holds its limit of QoS 2 messages awaiting PUBREL`,
      );
      return false;
    }
    if (entry === undefined) {
      entry = { messages: 0, bytes: 0, account: accountName, packets: new Map() };
      held.set(clientId, entry);
    }
    entry.packets.set(messageId, bytes);
    add(entry, 1, bytes);
    if (account !== undefined) {
      add(account, 1, bytes);
      accounts.set(accountName!, account);
    }
    return true;
  };

  store.incomingStorePacket = (client, packet) => {
    const { messageId } = packet;
    if (messageId === undefined) return storePacket(client, packet);
    // admitted before it was routed, or (a packet no hook admitted) counted here
    const admitted = held.get(client.id)?.packets.has(messageId) === true;
    if (!admitted && !admit(client.id, messageId, payloadBytes(packet.payload))) {
      return Promise.reject(new Qos2LimitRefusal(refusal));
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
  return {
    admit,
    forget: (clientId, messageId) => forget(clientId, messageId),
    holds: (clientId, messageId) => held.get(clientId)?.packets.has(messageId) === true,
    refusal,
  };
}
