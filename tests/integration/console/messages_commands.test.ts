/**
 * `messages:failed` and `messages:flush` run in-process through the kernel and the real
 * command registry, against the Redis dead-letter store under a key prefix of their own.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../../bootstrap/console.js';
import { ExitCode, Kernel } from '../../../core/console/index.js';
import type { Application } from '../../../core/index.js';
import { captureIO } from '../../unit/console/capture_io.js';
import { REDIS_URL, buildApplication, cliEnv, deletePrefix, uniquePrefix } from './cli_harness.js';

const prefix = uniquePrefix();
const env = cliEnv(prefix);
let app: Application;

beforeAll(() => {
  app = buildApplication(env);
});

afterAll(async () => {
  await app.close();
  await deletePrefix(prefix);
});

/**
 * Runs `argv` in-process. `createApplication` builds the command's application (the kernel
 * closes it); each write to stdout is also noted in `happened`, as `write`.
 */
async function run(
  argv: string[],
  runEnv = env,
  options: { createApplication?: () => Application; happened?: string[] } = {},
) {
  const io = captureIO();
  const writes: string[] = [];
  const write = io.stdout.write;
  io.stdout.write = (text: string) => {
    writes.push(text);
    options.happened?.push('write');
    return write(text);
  };
  const kernel = new Kernel({
    commands,
    io,
    createApplication: options.createApplication ?? (() => buildApplication(runEnv)),
  });
  const code = await kernel.handle(argv);
  return { code, out: io.out, err: io.err, writes };
}

describe('messages:failed and messages:flush', () => {
  it('list dead letters newest first, then delete them all', async () => {
    await app.deadLetters.flush();
    const older = await app.deadLetters.add({
      topic: 'devices/sensor-1/telemetry',
      payload: Buffer.from('{"temperature": "hot"}'),
      reason: 'temperature: expected number, received string',
      code: 'E_INVALID_MESSAGE',
      route: 'devices/{deviceId}/telemetry',
      clientId: 'sensor-1',
    });
    const newer = await app.deadLetters.add({
      topic: 'devices/sensor-2/status',
      payload: Buffer.from(`{"online": true, "firmware": "${'x'.repeat(200)}"}`),
      reason: 'firmware: too long',
    });

    const table = await run(['messages:failed']);
    expect(table.err).toBe('');
    expect(table.code).toBe(ExitCode.ok);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^id\s+at\s+topic\s+route\s+code\s+reason\s+payload$/);
    expect(lines[2]).toContain(newer.id);
    expect(lines[3]).toContain(older.id);
    expect(lines[3]).toContain(new Date(older.at).toISOString());
    expect(lines[3]).toContain('devices/{deviceId}/telemetry');
    expect(lines[3]).toContain('E_INVALID_MESSAGE');
    expect(lines[3]).toContain('{"temperature": "hot"}');
    expect(lines[2]).not.toContain('x'.repeat(100));
    expect(table.out).toContain('2 messages shown');

    const limited = await run(['messages:failed', '--limit=1', '--json']);
    expect(JSON.parse(limited.out)).toEqual([newer]);

    const json = await run(['messages:failed', '--json']);
    expect(JSON.parse(json.out)).toEqual([newer, older]);

    const flush = await run(['messages:flush']);
    expect(flush.code).toBe(ExitCode.ok);
    expect(flush.out).toBe('Deleted 2 dead-lettered messages.\n');
    expect(await app.deadLetters.list(10)).toEqual([]);

    const empty = await run(['messages:failed']);
    expect(empty.out).toBe('No dead-lettered messages.\n');
  });

  it('skip entries that are not dead letters, list the rest, and say on stderr where the skipped ones are', async () => {
    await app.deadLetters.flush();
    const kept = await app.deadLetters.add({
      topic: 'devices/sensor-3/telemetry',
      payload: Buffer.from('{}'),
      reason: 'bad',
    });
    const key = `${prefix}:dead-letters`;
    const redis = new Redis(REDIS_URL);
    try {
      // newest first: index 0 is missing fields, index 1 is not JSON, index 2 the real one
      await redis.lpush(key, 'not json', JSON.stringify({ id: 'x' }));
    } finally {
      redis.disconnect();
    }
    const note =
      'messages:failed: 2 entries could not be read and were skipped: indexes 0 (missing or invalid topic, ' +
      'payload, encoding, truncated, reason, code, route, clientId, at), 1 (not JSON) of Redis list ' +
      `${key} (newest first from 0); see one with \`redis-cli LINDEX ${key} <index>\`.\n`;

    const table = await run(['messages:failed']);
    expect(table.code).toBe(ExitCode.ok);
    expect(table.err).toBe(note);
    expect(table.out).toContain(kept.id);
    expect(table.out).toContain('1 message shown');

    const json = await run(['messages:failed', '--json']);
    expect(json.code).toBe(ExitCode.ok);
    expect(JSON.parse(json.out)).toEqual([kept]);
    expect(json.err).toBe(note);

    const flush = await run(['messages:flush']);
    expect(flush.out).toBe('Deleted 3 dead-lettered messages.\n');
  });

  it('write --json entry by entry, never the whole array in one string', async () => {
    await app.deadLetters.flush();
    const added = [];
    for (const n of [1, 2, 3]) {
      added.unshift(
        await app.deadLetters.add({
          topic: `devices/d${n}/blob`,
          payload: Buffer.alloc(1000, 0xff - n),
          reason: 'r',
        }),
      );
    }

    const json = await run(['messages:failed', '--json']);

    expect(json.code).toBe(ExitCode.ok);
    expect(JSON.parse(json.out)).toEqual(added);
    expect(json.out).toBe(`${JSON.stringify(added, null, 2)}\n`);
    // no write holds more than one entry (each is over 1,300 characters with its base64 payload)
    expect(Math.max(...json.writes.map((text) => text.length))).toBeLessThan(json.out.length / 2);
    await app.deadLetters.flush();
  });

  it('read the store a page of 100 at a time, writing each page before the next is read, and list each entry once while new ones come', async () => {
    await app.deadLetters.flush();
    const added = [];
    for (let n = 1; n <= 250; n++) {
      added.unshift(
        await app.deadLetters.add({
          topic: `devices/d${n}/telemetry`,
          payload: Buffer.from('{}'),
          reason: 'r',
        }),
      );
    }
    /** What happened, in order: each read with its limit, and each write to stdout. */
    const happened: string[] = [];
    const reading = (runApp: Application) => {
      const read = runApp.deadLetters.read.bind(runApp.deadLetters);
      runApp.deadLetters.read = async (limit, options) => {
        happened.push(`read ${limit}`);
        const page = await read(limit, options);
        // a device keeps failing while the command reads: new dead letters at the head
        await runApp.deadLetters.add({
          topic: 'devices/late/telemetry',
          payload: Buffer.from('{}'),
          reason: 'late',
        });
        return page;
      };
      return runApp;
    };

    const json = await run(['messages:failed', '--limit=250', '--json'], env, {
      createApplication: () => reading(buildApplication(env)),
      happened,
    });

    expect(json.code).toBe(ExitCode.ok);
    expect(JSON.parse(json.out)).toEqual(added);
    expect(json.out).toBe(`${JSON.stringify(added, null, 2)}\n`);
    expect(happened.filter((event) => event.startsWith('read'))).toEqual(['read 100', 'read 100', 'read 50']);
    // a page is written before the next is read: at most a page is held
    expect(happened.slice(0, 102)).toEqual(['read 100', ...Array(100).fill('write'), 'read 100']);

    // the late ones of that run among them
    const newest = (await app.deadLetters.read(250)).entries;
    const table = await run(['messages:failed', '--limit=250'], env, {
      createApplication: () => reading(buildApplication(env)),
    });
    const lines = table.out.split('\n');
    // the newest 250 when the command started, not the late ones added while it read
    expect(lines.slice(2, -2).map((line) => line.split(' ')[0])).toEqual(newest.map((entry) => entry.id));
    expect(new Set(lines.slice(0, -2).map((line) => line.length)).size).toBeLessThanOrEqual(2);
    expect(table.out).toContain('250 messages shown');
    await app.deadLetters.flush();
  });

  it('rejects a bad --limit as a usage error before touching Redis', async () => {
    for (const limit of ['0', '1e22', '10001']) {
      const { code, err } = await run(['messages:failed', `--limit=${limit}`]);
      expect(code).toBe(ExitCode.usage);
      expect(err).toMatch(/E_CLI_USAGE.*--limit.*from 1 to 10000/);
    }
  });
});

describe('messages:failed and messages:flush over a key of another type', () => {
  const wrongPrefix = `fxd-cli-${randomBytes(4).toString('hex')}`;
  const wrongEnv = cliEnv(wrongPrefix);
  const key = `${wrongPrefix}:dead-letters`;

  afterAll(async () => {
    await deletePrefix(wrongPrefix);
  });

  it('fail with E_REDIS_WRONG_TYPE naming the key, and flush deletes nothing', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      await redis.set(key, 'not a list');

      const failed = await run(['messages:failed'], wrongEnv);
      expect(failed.code).toBe(ExitCode.failure);
      expect(failed.out).toBe('');
      expect(failed.err).toMatch(
        new RegExp(
          `^error E_REDIS_WRONG_TYPE: Redis key ${key} holds a value of another type.*redis-cli DEL ${key}\\)\\n$`,
        ),
      );

      const flush = await run(['messages:flush'], wrongEnv);
      expect(flush.code).toBe(ExitCode.failure);
      expect(flush.out).toBe('');
      expect(flush.err).toMatch(/^error E_REDIS_WRONG_TYPE: /);
      expect(await redis.get(key)).toBe('not a list');
    } finally {
      redis.disconnect();
    }
  });
});
