/**
 * Reading a dead-letter store a page at a time, the Redis store against a real Redis and the
 * memory store by the same cases: pages of a store that does not change add up to one read of
 * them all; dead letters added between pages (at the head, the oldest trimmed past the limit)
 * are neither read again nor make an older one skipped; a page after a flush is empty.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeadLetter,
  type DeadLetterStore,
  MemoryDeadLetterStore,
  RedisDeadLetterStore,
} from '../../../core/index.js';
import { deleteKeys } from '../../support/redis_keys.js';

const redis = new Redis('redis://127.0.0.1:6379');
const prefix = `fxd-dead-pages-${randomBytes(4).toString('hex')}`;
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

let stores = 0;
const kinds: [string, (limit: number) => DeadLetterStore][] = [
  ['RedisDeadLetterStore', (limit) => new RedisDeadLetterStore(redis, `${prefix}:${++stores}`, limit)],
  ['MemoryDeadLetterStore', (limit) => new MemoryDeadLetterStore(limit)],
];

/** Adds dead letters on topics `t/<from>` to `t/<to>`, oldest first; returns them newest first. */
async function addRange(store: DeadLetterStore, from: number, to: number): Promise<DeadLetter[]> {
  const added: DeadLetter[] = [];
  for (let n = from; n <= to; n++) {
    added.unshift(await store.add({ topic: `t/${n}`, payload: Buffer.from(`{"n":${n}}`), reason: 'r' }));
  }
  return added;
}

const topics = (entries: readonly DeadLetter[]) => entries.map((entry) => entry.topic);

describe.each(kinds)('%s.read, a page at a time', (_name, createStore) => {
  it('reads an unchanged store in pages that add up to one read of it, the last without a next page', async () => {
    const store = createStore(100);
    await addRange(store, 1, 7);

    const first = await store.read(3);
    const second = await store.read(3, { after: first.next });
    const third = await store.read(3, { after: second.next });

    expect(topics([...first.entries, ...second.entries, ...third.entries])).toEqual(
      topics((await store.read(10)).entries),
    );
    expect(topics(third.entries)).toEqual(['t/1']);
    expect(first.next).toBeDefined();
    expect(third.next).toBeUndefined();
  });

  it('neither repeats nor skips an entry when dead letters are added between pages', async () => {
    const store = createStore(100);
    const before = await addRange(store, 1, 6);

    const first = await store.read(2);
    await addRange(store, 7, 9);
    const second = await store.read(2, { after: first.next });
    await addRange(store, 10, 10);
    const third = await store.read(10, { after: second.next });

    expect(topics([...first.entries, ...second.entries, ...third.entries])).toEqual(topics(before));
    expect(third.next).toBeUndefined();
  });

  it('goes on with what is left when the added ones trim the oldest past the limit', async () => {
    const store = createStore(5);
    await addRange(store, 1, 5);

    const first = await store.read(2); // t/5, t/4
    await addRange(store, 6, 7); // trims t/1 and t/2
    const second = await store.read(2, { after: first.next });

    expect(topics(first.entries)).toEqual(['t/5', 't/4']);
    expect(topics(second.entries)).toEqual(['t/3']);
    expect(second.next).toBeUndefined();
  });

  it('ends with an empty page when the entry the last page ended with was trimmed away', async () => {
    const store = createStore(4);
    await addRange(store, 1, 4);

    const first = await store.read(2); // t/4, t/3
    await addRange(store, 5, 7); // trims t/1, t/2 and t/3
    const second = await store.read(2, { after: first.next });

    expect(second).toEqual({ entries: [], unreadable: [] });
  });

  it('ends with an empty page after a flush, even when new dead letters came since', async () => {
    const store = createStore(100);
    await addRange(store, 1, 4);

    const first = await store.read(2);
    await store.flush();
    await addRange(store, 5, 8);
    const second = await store.read(2, { after: first.next });

    expect(second).toEqual({ entries: [], unreadable: [] });
  });
});

describe('RedisDeadLetterStore.read, a page at a time', () => {
  it('places an unreadable entry by its index in the list when its page was read', async () => {
    const name = `${prefix}:unreadable`;
    const store = new RedisDeadLetterStore(redis, name, 100);
    await addRange(store, 1, 2);
    await redis.lpush(`${name}:dead-letters`, 'not json');
    await addRange(store, 3, 4);

    const first = await store.read(2); // t/4, t/3
    await addRange(store, 5, 5); // moves every entry one place
    const second = await store.read(2, { after: first.next });

    expect(second.unreadable).toEqual([{ index: 3, key: `${name}:dead-letters`, reason: 'not JSON' }]);
    expect(topics(second.entries)).toEqual(['t/2']);
    const third = await store.read(2, { after: second.next });
    expect(topics(third.entries)).toEqual(['t/1']);
  });

  it('goes on past an entry that is no valid UTF-8 ending a page, as it was stored', async () => {
    const name = `${prefix}:invalid-utf8`;
    const store = new RedisDeadLetterStore(redis, name, 100);
    await addRange(store, 1, 2);
    // pushed by hand: read as a string, its bytes would come back as U+FFFD and match nothing
    await redis.lpush(`${name}:dead-letters`, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    await addRange(store, 3, 3);

    const first = await store.read(2); // t/3, then the damaged entry
    expect(first.unreadable).toHaveLength(1);
    const second = await store.read(2, { after: first.next });

    expect(topics(second.entries)).toEqual(['t/2', 't/1']);
  });
});
