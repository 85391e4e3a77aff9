/**
 * Bounds the messages the embedded broker holds for each client with a persistent session.
 * aedes keeps every QoS 1/2 message for such a client (clean session off) until the client
 * acknowledges it, for as long as the session lasts, and an offline client acknowledges
 * nothing: a device can subscribe under one client id, go away, and publish under another
 * until the broker runs out of memory. Past `maxMessages` messages or `maxBytes` of payload
 * held for one client, a new message for it is dropped for that client (others still get it),
 * as Mosquitto's `max_queued_messages` does. One line is logged when a client's queue fills,
 * and one when it has room again.
 *
 * It wraps the enqueue and clear methods of aedes's persistence instance, counting per
 * client id what they add and take away. The counts start at the broker's start, so with a
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
  payload?: Buffer | string;
}

/** The methods of an aedes persistence this wraps. */
export interface OutgoingStore {
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: QueuedPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<QueuedPacket | undefined>;
}

const sizeOf = (packet: QueuedPacket | undefined): number => {
  const payload = packet?.payload;
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
};

/** Installs the bound on `store` (aedes's `persistence`); returns a reader of the counts, for tests. */
export function limitOutgoingQueues(
  store: OutgoingStore,
  limits: QueueLimits,
  logger: Logger,
): (clientId: string) => { messages: number; bytes: number } {
  const held = new Map<string, { messages: number; bytes: number }>();
  const full = new Set<string>();
  const enqueue = store.outgoingEnqueue.bind(store);
  const enqueueCombi = store.outgoingEnqueueCombi.bind(store);
  const clear = store.outgoingClearMessageId.bind(store);

  /** Counts the packet for `clientId` when it fits; false when it does not. */
  const admit = (clientId: string, bytes: number): boolean => {
    const count = held.get(clientId) ?? { messages: 0, bytes: 0 };
    if (count.messages + 1 > limits.maxMessages || count.bytes + bytes > limits.maxBytes) {
      if (!full.has(clientId)) {
        full.add(clientId);
        logger.warn(
          { clientId, heldMessages: count.messages, heldBytes: count.bytes, ...limits },
          'mqtt client queue full: messages for it are dropped until it acknowledges some',
        );
      }
      return false;
    }
    count.messages += 1;
    count.bytes += bytes;
    held.set(clientId, count);
    return true;
  };

  store.outgoingEnqueue = async (sub, packet) => {
    if (admit(sub.clientId, sizeOf(packet))) await enqueue(sub, packet);
  };
  store.outgoingEnqueueCombi = async (subs, packet) => {
    const bytes = sizeOf(packet);
    const kept = subs.filter((sub) => admit(sub.clientId, bytes));
    if (kept.length > 0) await enqueueCombi(kept, packet);
  };
  store.outgoingClearMessageId = async (client, packet) => {
    const cleared = await clear(client, packet);
    const count = held.get(client.id);
    if (cleared && count) {
      count.messages = Math.max(0, count.messages - 1);
      count.bytes = Math.max(0, count.bytes - sizeOf(cleared));
      if (count.messages === 0) held.delete(client.id);
      if (full.delete(client.id)) {
        logger.info({ clientId: client.id }, 'mqtt client queue has room again');
      }
    }
    return cleared;
  };
  return (clientId) => ({ ...(held.get(clientId) ?? { messages: 0, bytes: 0 }) });
}
