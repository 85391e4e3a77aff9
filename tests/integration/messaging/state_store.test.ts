/**
 * The state stores keep what handlers merge into them exactly as it was written, in Redis as
 * in memory: the same contract for both.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MemoryStateStore,
  RedisStateStore,
  STATE_ENTRY_LIMITS,
  type StateStore,
} from '../../../core/index.js';
import { deleteKeys } from '../../support/redis_keys.js';

const redis = new Redis('redis://127.0.0.1:6379');
const prefix = `test-state-${randomBytes(4).toString('hex')}`;
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const stores: [string, () => StateStore][] = [
  ['memory', () => new MemoryStateStore()],
  ['redis', () => new RedisStateStore(redis, prefix)],
];

describe.each(stores)('%s state store', (_label, makeStore) => {
  it('gives back merged values exactly: empty arrays, 16-digit numbers, nested objects', async () => {
    const store = makeStore();
    const fields = {
      tags: [],
      big: 1234567890123456,
      pi: 0.1 + 0.2,
      nested: { list: [], empty: {} },
      off: false,
    };
    expect(await store.merge('devices', 'sensor-1', fields)).toEqual(fields);
    expect(await store.get('devices', 'sensor-1')).toEqual(fields);
    expect((await store.all('devices'))['sensor-1']).toEqual(fields);
  });

  it('refuses a merge past the entry limits (fields, bytes) and keeps the entry as it was', async () => {
    const store = makeStore();
    await store.merge('limits', 'd1', { online: true });
    const many = Object.fromEntries(
      Array.from({ length: STATE_ENTRY_LIMITS.fields }, (_, n) => [`f${n}`, n]),
    );
    await expect(store.merge('limits', 'd1', many)).rejects.toMatchObject({
      code: 'E_STATE_TOO_LARGE',
      message: expect.stringMatching(
        /^state entry limits\/d1 would hold 257 fields in \d+ bytes, over the limit/,
      ),
    });
    await expect(
      store.merge('limits', 'd1', { blob: 'x'.repeat(STATE_ENTRY_LIMITS.bytes) }),
    ).rejects.toMatchObject({
      code: 'E_STATE_TOO_LARGE',
    });
    expect(await store.get('limits', 'd1')).toEqual({ online: true });
    // right at the limit is fine
    const fit = Object.fromEntries(
      Array.from({ length: STATE_ENTRY_LIMITS.fields - 1 }, (_, n) => [`f${n}`, n]),
    );
    expect(Object.keys(await store.merge('limits', 'd1', fit))).toHaveLength(STATE_ENTRY_LIMITS.fields);
  });

  it('measures an entry alike in both stores, whatever its text holds (cjson writes / as \\/)', async () => {
    const store = makeStore();
    // 'a/b/c/d/e/f/NNNN' quoted, and a comma: 19 bytes a filter, 2 + 7 + 2 for the rest
    const filters = (count: number) =>
      Array.from({ length: count }, (_, n) => `a/b/c/d/e/f/${String(n).padStart(4, '0')}`);
    const fit = Math.floor((STATE_ENTRY_LIMITS.bytes - 'filters'.length - 2 + 1) / 19);
    expect((await store.merge('sizes', 'app', { filters: filters(fit) })).filters).toHaveLength(fit);
    await expect(store.merge('sizes', 'app', { filters: filters(fit + 1) })).rejects.toMatchObject({
      code: 'E_STATE_TOO_LARGE',
    });
  });

  it('refuses a value JSON would change, naming the field, and reads back -0 as 0 (as JSON keeps it)', async () => {
    const store = makeStore();
    await expect(store.merge('json', 'd1', { reading: Number.NaN })).rejects.toMatchObject({
      code: 'E_INVALID_PAYLOAD',
      message: expect.stringContaining('state json/d1 field "reading"'),
    });
    await expect(store.merge('json', 'd1', { at: new Date() as never })).rejects.toMatchObject({
      code: 'E_INVALID_PAYLOAD',
    });
    expect(await store.get('json', 'd1')).toBeUndefined();
    expect(Object.is((await store.merge('json', 'd1', { zero: -0 })).zero, 0)).toBe(true);
  });

  it('merges shallowly: new fields replace old ones and the rest stay', async () => {
    const store = makeStore();
    await store.merge('status', 'sensor-2', { online: true, seen: 1, config: { rate: 5 } });
    const merged = await store.merge('status', 'sensor-2', { online: false, config: { mode: 'eco' } });
    expect(merged).toEqual({ online: false, seen: 1, config: { mode: 'eco' } });
    expect(await store.get('status', 'sensor-2')).toEqual(merged);
    expect(await store.get('status', 'nobody')).toBeUndefined();
  });

  it('leaves a field given as undefined as it was, as JSON would', async () => {
    const store = makeStore();
    await store.merge('status', 'sensor-4', { battery: 80, online: true });
    const update: { battery?: number; online: boolean } = { battery: undefined, online: false };
    const merged = await store.merge('status', 'sensor-4', update as never);
    expect(merged).toEqual({ battery: 80, online: false });
    expect(Object.hasOwn(merged, 'battery')).toBe(true);
    expect(await store.get('status', 'sensor-4')).toEqual(merged);
  });

  it('keeps a field named __proto__ as data, not as the prototype', async () => {
    const store = makeStore();
    const fields = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>;
    const merged = await store.merge('odd', 'sensor-3', fields as never);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
  });

  it('refuses a field name with a lone surrogate, which Redis would store as U+FFFD, merging nothing', async () => {
    const store = makeStore();
    // what JSON.parse makes of a device payload {"\ud800": 1, "\udc00": 2, "ok": 3}: stored as
    // UTF-8, both names would become one
    const fields = JSON.parse('{"ok": 3, "\\ud800": 1, "\\udc00": 2}') as Record<string, number>;
    await expect(store.merge('names', 'sensor-5', fields)).rejects.toMatchObject({
      code: 'E_INVALID_PAYLOAD',
      message: expect.stringContaining(
        'state names/sensor-5 field name "\\ud800" holds a lone UTF-16 surrogate',
      ),
    });
    expect(await store.get('names', 'sensor-5')).toBeUndefined();
    // a pair is one character, and kept as written
    expect(await store.merge('names', 'sensor-5', { '😀': 1 })).toEqual({ '😀': 1 });
    expect(await store.get('names', 'sensor-5')).toEqual({ '😀': 1 });
  });
});

describe('RedisStateStore with entries of its first layout', () => {
  it('reads an entry stored as the plain object and merges into it', async () => {
    await redis.hset(`${prefix}:state:legacy`, 'sensor-9', '{"online":true,"seen":3}');
    const store = new RedisStateStore(redis, prefix);
    expect(await store.get('legacy', 'sensor-9')).toEqual({ online: true, seen: 3 });
    expect(await store.merge('legacy', 'sensor-9', { seen: 4, tags: [] })).toEqual({
      online: true,
      seen: 4,
      tags: [],
    });
  });
});

describe('redis state store, an entry stored before the limits', () => {
  it('still merges into an entry past them what does not grow it, and says how to start it afresh', async () => {
    const store = new RedisStateStore(redis, prefix);
    // 300 fields, as a version without the limits stored them
    const fields = Object.fromEntries(Array.from({ length: 300 }, (_, n) => [`f${n}`, String(n)]));
    await redis.hset(`${prefix}:state:legacy`, 'd1', `v2:${JSON.stringify(fields)}`);
    expect((await store.merge('legacy', 'd1', { f0: 7 })).f0).toBe(7);
    await expect(store.merge('legacy', 'd1', { extra: true })).rejects.toMatchObject({
      code: 'E_STATE_TOO_LARGE',
      message: expect.stringContaining(`redis-cli HDEL ${prefix}:state:legacy d1`),
    });
  });
});
