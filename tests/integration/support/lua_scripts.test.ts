/**
 * LuaScripts, which the queue, the dead-letter and state stores and the rate limiter run their
 * Lua through, against Redis: includes inlined once, keys counted at the call, bytes kept whole.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LuaScripts } from '../../../core/support/lua_scripts.js';

const directory = mkdtempSync(join(tmpdir(), 'topiq-lua-'));
mkdirSync(join(directory, 'includes'));
writeFileSync(join(directory, 'includes', 'twice.lua'), 'local function twice(x) return x * 2 end\n');
writeFileSync(
  join(directory, 'includes', 'quad.lua'),
  '--!include twice\nlocal function quad(x) return twice(twice(x)) end\n',
);
// names `twice` itself and again through `quad`
writeFileSync(
  join(directory, 'sum_keys.lua'),
  '--!include twice\n--!include quad\nreturn { #KEYS, quad(tonumber(ARGV[1])), KEYS[#KEYS] }\n',
);
writeFileSync(join(directory, 'echo_bytes.lua'), 'return ARGV[1]\n');

const scripts = new LuaScripts(pathToFileURL(`${directory}/`), ['sum_keys', 'echo_bytes'] as const);
const redis = new Redis('redis://127.0.0.1:6379');

afterAll(() => {
  redis.disconnect();
  rmSync(directory, { recursive: true, force: true });
});

describe('LuaScripts', () => {
  it('inlines each include once per script, however often it is named', () => {
    const source = scripts.sources().get('sum_keys')!;
    expect(source.match(/local function twice/g)).toHaveLength(1);
    expect(source).toContain('local function quad');
    expect(source).not.toContain('--!include');
  });

  it('passes the count of the keys given at each call, so one script takes any number of keys', async () => {
    expect(await scripts.run(redis, 'sum_keys', ['a'], [3])).toEqual([1, 12, 'a']);
    expect(await scripts.run(redis, 'sum_keys', ['a', 'b', 'c'], [5])).toEqual([3, 20, 'c']);
  });

  it('gives bulk replies as Buffers from runBuffer, bytes that are no UTF-8 kept whole', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const reply = await scripts.runBuffer<Buffer>(redis, 'echo_bytes', [], [bytes]);
    expect(Buffer.compare(reply, bytes)).toBe(0);
    expect(await scripts.run(redis, 'echo_bytes', [], ['text'])).toBe('text');
  });

  it('registers itself on a connection it was not given before, at its first call', async () => {
    const other = new Redis('redis://127.0.0.1:6379');
    try {
      expect(await scripts.run(other, 'sum_keys', ['k'], [1])).toEqual([1, 4, 'k']);
    } finally {
      other.disconnect();
    }
  });
});
