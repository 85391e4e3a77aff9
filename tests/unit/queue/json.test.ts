import { describe, expect, it } from 'vitest';
import { InvalidPayloadError } from '../../../core/errors.js';
import { assertJsonSafe, decodeJson, encodeJson } from '../../../core/queue/json.js';
import { TrieRouter } from '../../../core/routing/index.js';

function sparse(): number[] {
  const list = [1];
  list[2] = 3;
  return list;
}

describe('assertJsonSafe', () => {
  it('accepts plain JSON data, including null-prototype objects and absent optional fields', () => {
    const bare = Object.assign(Object.create(null), { a: 1 });
    expect(() => assertJsonSafe({ a: [1, 'x', true, null, { b: bare }], optional: undefined })).not.toThrow();
  });

  it('accepts route params (ctx.params) as they are, whose prototype adds nothing, and encodes them as plain objects', () => {
    const router = new TrieRouter<string>();
    router.add('devices/{deviceId}/alarms/{kind}', 'alarm');
    const params = router.match('devices/d1/alarms/smoke')[0]!.params;

    expect(() => assertJsonSafe({ params })).not.toThrow();
    expect(() => assertJsonSafe(params)).not.toThrow();
    expect(encodeJson({ params })).toBe('{"params":{"deviceId":"d1","kind":"smoke"}}');
  });

  it('refuses an object whose prototype has something of its own, though frozen and without a prototype', () => {
    const prototype = Object.freeze(Object.assign(Object.create(null), { toJSON: () => 'changed' }));
    expect(() => assertJsonSafe({ a: Object.create(prototype) })).toThrow(/payload.a is/);
  });

  it.each([
    ['a function', { send: () => 1 }, /payload.send is a function/],
    ['a class instance', { at: new Date() }, /payload.at is an instance of Date/],
    ['a Map', { m: new Map() }, /instance of Map/],
    ['a BigInt', { n: 10n }, /BigInt/],
    ['undefined in an array', { list: [1, undefined] }, /payload.list\[1\] is undefined/],
    ['a sparse array', { list: sparse() }, /hole/],
    ['NaN', { t: Number.NaN }, /NaN/],
    ['Infinity', { t: Number.POSITIVE_INFINITY }, /Infinity/],
    ['a symbol', { s: Symbol('x') }, /symbol/],
  ])('refuses %s with E_INVALID_PAYLOAD and the path of the value', (_label, value, message) => {
    expect(() => assertJsonSafe(value)).toThrow(InvalidPayloadError);
    expect(() => assertJsonSafe(value)).toThrow(message);
  });

  it('refuses a cycle but accepts the same object twice side by side', () => {
    const shared = { x: 1 };
    expect(() => assertJsonSafe({ a: shared, b: shared })).not.toThrow();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => assertJsonSafe(cyclic)).toThrow(/cycle/);
  });

  it('refuses JSON nested deeper than 256 levels with E_INVALID_PAYLOAD, not a stack overflow', () => {
    const depth = 100_000; // 200 KB of text, which JSON.parse accepts
    const deep: unknown = JSON.parse('['.repeat(depth) + ']'.repeat(depth));
    expect(() => assertJsonSafe(deep)).toThrow(InvalidPayloadError);
    expect(() => assertJsonSafe(deep)).toThrow(/nests arrays and objects more than 256 deep/);
    const fine: unknown = JSON.parse(`${'['.repeat(256)}1${']'.repeat(256)}`);
    expect(() => assertJsonSafe(fine)).not.toThrow();
  });
});

describe('a value that cannot be read', () => {
  const lazy = () =>
    Object.defineProperty({ id: 1 }, 'entity', {
      enumerable: true,
      get() {
        throw new Error('detached entity: lazy field cannot be loaded');
      },
    });

  it('is refused with E_INVALID_PAYLOAD naming where: a getter that throws, in an object or an array', () => {
    expect(() => assertJsonSafe({ row: lazy() }, 'result')).toThrow(InvalidPayloadError);
    expect(() => assertJsonSafe({ row: lazy() }, 'result')).toThrow(
      /result\.row\.entity could not be read \(detached entity: lazy field cannot be loaded\)/,
    );
    const list = [1];
    Object.defineProperty(list, 1, {
      enumerable: true,
      get() {
        throw new Error('gone');
      },
    });
    expect(() => assertJsonSafe(list, 'result')).toThrow(/result\[1\] could not be read \(gone\)/);
  });

  it('is refused with E_INVALID_PAYLOAD: a proxy whose traps throw, or one revoked', () => {
    const trapped = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('revoked');
        },
      },
    );
    expect(() => encodeJson(trapped, 'result')).toThrow(InvalidPayloadError);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => encodeJson({ value: proxy }, 'result')).toThrow(InvalidPayloadError);
  });

  it('is refused with E_INVALID_PAYLOAD when it throws only once written out, after the check read it', () => {
    let reads = 0;
    const flaky = Object.defineProperty({}, 'field', {
      enumerable: true,
      get() {
        reads++;
        if (reads > 1) throw new Error('connection closed');
        return 1;
      },
    });
    expect(() => encodeJson(flaky, 'result')).toThrow(/result could not be read \(connection closed\)/);
  });
});

describe('encodeJson / decodeJson', () => {
  it('round-trips a payload and reports corrupt JSON as E_INVALID_PAYLOAD', () => {
    expect(decodeJson(encodeJson({ a: [1, 2] }))).toEqual({ a: [1, 2] });
    expect(encodeJson(undefined)).toBe('null');
    expect(() => decodeJson('{nope')).toThrow(InvalidPayloadError);
  });
});
