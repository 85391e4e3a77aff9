/**
 * The bound on the QoS 2 messages held from each client awaiting PUBREL: counted by client id
 * and by device, freed by a PUBREL, a clean session or a failed store, a resend of a held id
 * replacing its count.
 */
import { describe, expect, it } from 'vitest';
import { type IncomingStore, limitIncomingQos2 } from '../../../core/broker/incoming_qos2_limit.js';
import { capturingLogger } from '../../support/capturing_logger.js';

/** A store like aedes's in-memory one, bounded; `failNext` makes the next store call fail. */
function boundedStore(limits: { maxMessages: number; maxBytes: number }) {
  const stored = new Map<string, Set<number>>();
  let failNext = false;
  const store: IncomingStore = {
    async incomingStorePacket(client, packet) {
      if (failNext) {
        failNext = false;
        throw new Error('store failed');
      }
      const ids = stored.get(client.id) ?? new Set();
      ids.add(packet.messageId!);
      stored.set(client.id, ids);
    },
    async incomingDelPacket(client, packet) {
      stored.get(client.id)?.delete(packet.messageId!);
    },
    async cleanIncoming(client) {
      stored.delete(client.id);
    },
  };
  const log = capturingLogger('warn');
  const accounts: Record<string, string> = { a1: 'device:a', a2: 'device:a', b1: 'device:b' };
  limitIncomingQos2(store, limits, log.logger, (clientId) => accounts[clientId]);
  const put = (clientId: string, messageId: number, bytes = 1) =>
    store.incomingStorePacket({ id: clientId }, { messageId, payload: Buffer.alloc(bytes) }).then(
      () => true,
      () => false,
    );
  return {
    store,
    log,
    put,
    failNext: () => {
      failNext = true;
    },
  };
}

describe('limitIncomingQos2', () => {
  it("refuses a client id's message past its count, and takes one again after a PUBREL", async () => {
    const { store, put, log } = boundedStore({ maxMessages: 2, maxBytes: 100 });
    expect([await put('a1', 1), await put('a1', 2), await put('a1', 3)]).toEqual([true, true, false]);
    expect(log.events('broker.qos2_refused')).toEqual([
      expect.objectContaining({ clientId: 'a1', account: 'device:a', held: 2, maxMessages: 2 }),
    ]);
    await store.incomingDelPacket({ id: 'a1' }, { messageId: 1 });
    expect(await put('a1', 3)).toBe(true);
  });

  it('counts a resend of a held packet id once, by its latest size', async () => {
    const { put } = boundedStore({ maxMessages: 2, maxBytes: 10 });
    expect(await put('a1', 1, 4)).toBe(true);
    expect(await put('a1', 1, 6)).toBe(true);
    expect(await put('a1', 2, 4)).toBe(true);
    expect(await put('a1', 3, 0)).toBe(false);
  });

  it("shares the bound among one device's client ids, not another device's", async () => {
    const { put } = boundedStore({ maxMessages: 10, maxBytes: 10 });
    expect(await put('a1', 1, 6)).toBe(true);
    expect(await put('a2', 1, 6)).toBe(false);
    expect(await put('b1', 1, 6)).toBe(true);
  });

  it('frees everything of a client id at a clean session, and the place of a packet its store failed', async () => {
    const { store, put, failNext } = boundedStore({ maxMessages: 1, maxBytes: 10 });
    failNext();
    expect(await put('a1', 1)).toBe(false);
    expect(await put('a1', 1)).toBe(true);
    expect(await put('a2', 2)).toBe(false);
    await store.cleanIncoming!({ id: 'a1' });
    expect(await put('a2', 2)).toBe(true);
  });

  it('bounds a client id of no device on its own', async () => {
    const { put } = boundedStore({ maxMessages: 1, maxBytes: 10 });
    expect(await put('service-1', 1)).toBe(true);
    expect(await put('service-2', 1)).toBe(true);
    expect(await put('service-1', 2)).toBe(false);
  });
});

describe('limitIncomingQos2 admission before routing', () => {
  it('counts an admitted message once when aedes stores it, and gives back the place of one not stored', async () => {
    const { store } = (() => {
      const store: IncomingStore = {
        async incomingStorePacket() {},
        async incomingDelPacket() {},
      };
      return { store };
    })();
    const limit = limitIncomingQos2(store, { maxMessages: 2, maxBytes: 100 }, capturingLogger('warn').logger);
    expect(limit.admit('c', 1, 1)).toBe(true);
    await store.incomingStorePacket({ id: 'c' }, { messageId: 1, payload: Buffer.alloc(1) }); // not counted again
    expect(limit.admit('c', 2, 1)).toBe(true);
    expect(limit.admit('c', 3, 1)).toBe(false);
    limit.forget('c', 2); // its routing failed: aedes never stores it
    expect(limit.admit('c', 3, 1)).toBe(true);
    expect(limit.refusal).toMatch(
      /holds 2 QoS 2 messages or 100 bytes awaiting PUBREL; send the PUBRELs owed first/,
    );
  });
});
