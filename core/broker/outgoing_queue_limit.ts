/**
 * Bounds the messages the embedded broker holds for each client with a persistent session.
 * aedes keeps every QoS 1/2 message for such a client (clean session off) until the client
 * acknowledges it, for as long as the session lasts, and an offline client acknowledges
 * nothing: a device can subscribe under one client id, go away, and publish under another
 * until the broker runs out of memory. Past `maxMessages` messages or `maxBytes` of payload
 * held for one client, a new message for it is dropped for that client (others still get it),
 * as Mosquitto's `max_queued_messages` does. The sessions of one device share one such bound
 * too, or a device could multiply it by its client ids. One line is logged when a client's
 * (or a device's) queues fill, and one when they have room again.
 *
 * It wraps the enqueue, update and clear methods of aedes's persistence instance, counting per
 * client id what they add and take away. A QoS 2 message gives its payload bytes back at its
 * PUBREC, when aedes replaces it by a PUBREL (`outgoingUpdate`), and its place at the PUBCOMP,
 * which clears the PUBREL. The counts start at the broker's start, so with a
 * persistence that outlives the process (not aedes's in-memory default), messages queued
 * before it are not counted.
 */
import type { Logger } from '../logger.js';

/** The defaults of {@link limitOutgoingQueues}. */
export const DEFAULT_QUEUE_LIMITS = { maxMessages: 1000, maxBytes: 16 * 1024 * 1024 } as const;

export interface QueueLimits {
  /** Messages held for one client (QoS 1/2, persistent session), sent or not yet acknowledged. */
  readonly maxMessages: number;
  /** Payload bytes held for one client. */
  readonly maxBytes: number;
}

interface QueuedPacket {
  cmd?: string;
  messageId?: number;
  payload?: Buffer | string;
  /** Which broker published it and its number there: one message, whichever copy. */
  brokerId?: string;
  brokerCounter?: number;
}

/** What {@link limitOutgoingQueues} gives back. */
export interface OutgoingQueueLimit {
  /**
   * Whether to forward `packet` to the online client `clientId` (aedes's `authorizeForward`):
   * false for a message dropped for it because its queue was full. aedes delivers a message to
   * an online client after it enqueued it, and a delivery whose message it does not hold
   * closes the connection; not forwarding it drops it as it was meant to be dropped.
   */
  forwards(clientId: string, packet: QueuedPacket): boolean;
  /** Forgets the dropped messages remembered for `clientId`, which disconnected. */
  disconnected(clientId: string): void;
}

/** Dropped messages remembered per online client until their delivery is refused. */
const MAX_DROPPED = 10_000;

const keyOf = (packet: QueuedPacket): string | undefined =>
  packet.brokerId === undefined ? undefined : `${packet.brokerId}:${packet.brokerCounter}`;

/** The methods of an aedes persistence this wraps. */
export interface OutgoingStore {
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: QueuedPacket): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: QueuedPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<QueuedPacket | undefined>;
}

/** Messages and payload bytes held. */
export interface Tally {
  messages: number;
  bytes: number;
}

/** Whether one more message of `bytes` keeps `tally` within `limits`. */
export function fitsLimits(tally: Tally, bytes: number, limits: QueueLimits): boolean {
  return tally.messages + 1 <= limits.maxMessages && tally.bytes + bytes <= limits.maxBytes;
}

interface Held extends Tally {
  /** The device account the client id belongs to, if a device's: its sessions share one bound. */
  readonly account: string | undefined;
  /** Payload bytes of the messages sent to the client, by packet id, until acknowledged. */
  readonly sent: Map<number, number>;
}

/** Bytes of an MQTT payload as aedes holds it (a Buffer, or a string from `aedes.publish`). */
export function payloadBytes(payload: Buffer | string | undefined): number {
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

const sizeOf = (packet: QueuedPacket | undefined): number => payloadBytes(packet?.payload);

/**
 * Installs the bound on `store` (aedes's `persistence`). `online(clientId)` says whether the
 * client is connected now: only then is a dropped message remembered for {@link
 * OutgoingQueueLimit.forwards}, as only then does aedes go on to deliver it. `accountOf(clientId)`
 * names the device account a client id belongs to: the sessions of one device share the bound,
 * so a device cannot multiply it by opening sessions under many client ids (a service
 * account's sessions, undefined here, are bounded each on its own).
 */
export function limitOutgoingQueues(
  store: OutgoingStore,
  limits: QueueLimits,
  logger: Logger,
  online: (clientId: string) => boolean,
  accountOf: (clientId: string) => string | undefined = () => undefined,
): OutgoingQueueLimit {
  const held = new Map<string, Held>();
  const full = new Set<string>();
  const accounts = new Map<string, Tally>();
  const fullAccounts = new Set<string>();
  const fits = (tally: Tally, bytes: number): boolean => fitsLimits(tally, bytes, limits);
  const dropped = new Map<string, Set<string>>();
  /**
   * Dropped messages whose delivery was just refused to a persistent client: aedes then clears
   * the message from the client's queue (`outgoingClearMessageId`), taking it for one it holds.
   * It never held it, and the in-memory store matches by packet id, which a message never sent
   * lacks: the clear would remove another message queued for the client and not yet sent.
   */
  const refused = new Map<string, Set<string>>();
  const remember = (clientId: string, packet: QueuedPacket): void => {
    const key = keyOf(packet);
    if (key === undefined || !online(clientId)) return;
    const keys = dropped.get(clientId) ?? new Set<string>();
    keys.add(key);
    if (keys.size > MAX_DROPPED) keys.delete(keys.values().next().value!);
    dropped.set(clientId, keys);
  };
  const enqueue = store.outgoingEnqueue.bind(store);
  const enqueueCombi = store.outgoingEnqueueCombi.bind(store);
  const update = store.outgoingUpdate.bind(store);
  const clear = store.outgoingClearMessageId.bind(store);

  /** Counts the packet for `clientId` (and its device) when it fits; false when it does not. */
  const admit = (clientId: string, bytes: number): boolean => {
    const count = held.get(clientId) ?? {
      messages: 0,
      bytes: 0,
      account: accountOf(clientId),
      sent: new Map(),
    };
    if (!fits(count, bytes)) {
      if (!full.has(clientId)) {
        full.add(clientId);
        logger.warn(
          {
            event: 'broker.client_queue_full',
            clientId,
            heldMessages: count.messages,
            heldBytes: count.bytes,
            ...limits,
          },
          'mqtt client queue full: messages for it are dropped until it acknowledges some',
        );
      }
      return false;
    }
    const { account } = count;
    const shared = account === undefined ? undefined : (accounts.get(account) ?? { messages: 0, bytes: 0 });
    if (shared && !fits(shared, bytes)) {
      if (!fullAccounts.has(account!)) {
        fullAccounts.add(account!);
        logger.warn(
          {
            event: 'broker.device_queues_full',
            clientId,
            account,
            heldMessages: shared.messages,
            heldBytes: shared.bytes,
            ...limits,
          },
          'mqtt device queues full: messages for its sessions are dropped until it acknowledges some',
        );
      }
      return false;
    }
    count.messages += 1;
    count.bytes += bytes;
    held.set(clientId, count);
    if (shared) {
      shared.messages += 1;
      shared.bytes += bytes;
      accounts.set(account!, shared);
    }
    return true;
  };

  /** Takes `messages` and `bytes` off what is held for `clientId` and its device. */
  const release = (clientId: string, count: Held, messages: number, bytes: number): void => {
    count.messages = Math.max(0, count.messages - messages);
    count.bytes = Math.max(0, count.bytes - bytes);
    if (count.messages === 0) held.delete(clientId);
    const { account } = count;
    const shared = account === undefined ? undefined : accounts.get(account);
    if (!shared) return;
    shared.messages = Math.max(0, shared.messages - messages);
    shared.bytes = Math.max(0, shared.bytes - bytes);
    if (shared.messages === 0) accounts.delete(account!);
    if (messages > 0 && fullAccounts.delete(account!)) {
      logger.info(
        { event: 'broker.device_queues_room', clientId, account },
        'mqtt device queues have room again',
      );
    }
  };

  /** Takes back what {@link admit} counted for a message the store did not keep after all. */
  const forget = (clientId: string, bytes: number): void => {
    const count = held.get(clientId);
    if (count) release(clientId, count, 1, bytes);
  };

  store.outgoingEnqueue = async (sub, packet) => {
    const bytes = sizeOf(packet);
    if (!admit(sub.clientId, bytes)) {
      remember(sub.clientId, packet);
      return;
    }
    try {
      await enqueue(sub, packet);
    } catch (error) {
      forget(sub.clientId, bytes);
      throw error;
    }
  };
  store.outgoingEnqueueCombi = async (subs, packet) => {
    const bytes = sizeOf(packet);
    const kept = subs.filter((sub) => {
      if (admit(sub.clientId, bytes)) return true;
      remember(sub.clientId, packet);
      return false;
    });
    if (kept.length === 0) return;
    try {
      await enqueueCombi(kept, packet);
    } catch (error) {
      for (const sub of kept) forget(sub.clientId, bytes);
      throw error;
    }
  };
  store.outgoingUpdate = async (client, packet) => {
    await update(client, packet);
    const count = held.get(client.id);
    const id = packet.messageId;
    if (!count || id === undefined) return;
    if (packet.cmd === 'pubrel') {
      // the QoS 2 message sent under `id` is replaced by its PUBREL, which holds no payload
      release(client.id, count, 0, count.sent.get(id) ?? 0);
      count.sent.delete(id);
    } else {
      count.sent.set(id, sizeOf(packet));
    }
  };
  store.outgoingClearMessageId = async (client, packet) => {
    const key = keyOf(packet as QueuedPacket);
    const keys = key === undefined ? undefined : refused.get(client.id);
    if (keys?.delete(key!)) {
      if (keys.size === 0) refused.delete(client.id);
      return undefined;
    }
    const cleared = await clear(client, packet);
    const count = held.get(client.id);
    if (cleared && count) {
      // a PUBREL's message gave its bytes back when it was replaced (see outgoingUpdate)
      release(client.id, count, 1, cleared.cmd === 'pubrel' ? 0 : sizeOf(cleared));
      if (cleared.messageId !== undefined) count.sent.delete(cleared.messageId);
      if (full.delete(client.id)) {
        logger.info(
          { event: 'broker.client_queue_room', clientId: client.id },
          'mqtt client queue has room again',
        );
      }
    }
    return cleared;
  };
  return {
    forwards: (clientId, packet) => {
      const keys = dropped.get(clientId);
      if (!keys) return true;
      const key = keyOf(packet);
      if (key === undefined || !keys.delete(key)) return true;
      if (keys.size === 0) dropped.delete(clientId);
      const clears = refused.get(clientId) ?? new Set<string>();
      clears.add(key);
      if (clears.size > MAX_DROPPED) clears.delete(clears.values().next().value!);
      refused.set(clientId, clears);
      return false;
    },
    disconnected: (clientId) => {
      dropped.delete(clientId);
      refused.delete(clientId);
    },
  };
}
