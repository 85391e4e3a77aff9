/**
 * Every command that reads or changes Redis reports an unreachable Redis as one line,
 * `error E_REDIS_UNAVAILABLE: ...`, and exits 1, instead of printing an ioredis stack. Run
 * in-process through the kernel and the real command registry, with `REDIS_URL` on a port
 * where nothing listens.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../../bootstrap/console.js';
import { ExitCode, Kernel } from '../../../core/console/index.js';
import { captureIO } from '../../unit/console/capture_io.js';
import { freePort } from '../../support/net.js';
import { startPrivateRedis } from '../../support/private_redis.js';
import { buildApplication, cliEnv, uniquePrefix } from './cli_harness.js';

let env: Record<string, string>;

beforeAll(async () => {
  env = cliEnv(uniquePrefix(), { REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
});

describe('commands against a Redis that cannot be reached', () => {
  it.each([
    'job:list --queue=q',
    'job:list',
    'queue:failed --queue=q',
    'queue:flush --queue=q',
    'queue:clear --queue=q --force',
    'queue:prune-failed --queue=q',
    'queue:retry all --queue=q',
    'messages:failed',
    'messages:flush',
  ])('%s prints one E_REDIS_UNAVAILABLE line and exits 1', async (line) => {
    const io = captureIO();
    const kernel = new Kernel({ commands, io, createApplication: () => buildApplication(env) });
    const code = await kernel.handle(line.split(' '));
    expect(io.err).toMatch(
      /^error E_REDIS_UNAVAILABLE: Redis at 127\.0\.0\.1:\d+ did not answer .*REDIS_URL/,
    );
    expect(io.err.trimEnd().split('\n')).toHaveLength(1);
    expect(io.err).not.toMatch(/\n\s+at /);
    expect(code).toBe(ExitCode.failure);
  });
});

describe('commands against a Redis that refuses their password', () => {
  it.each(['queue:size', 'job:list', 'messages:failed'])(
    '%s prints one E_REDIS_AUTH line saying to set the password in REDIS_URL, and exits 1',
    async (line) => {
      const { port, stop } = await startPrivateRedis(['--requirepass', 's3cret'], 's3cret');
      try {
        const io = captureIO();
        const protectedEnv = { ...env, REDIS_URL: `redis://127.0.0.1:${port}` };
        const kernel = new Kernel({ commands, io, createApplication: () => buildApplication(protectedEnv) });
        const code = await kernel.handle(line.split(' '));
        expect(io.err).toMatch(
          /^error E_REDIS_AUTH: Redis at 127\.0\.0\.1:\d+ refused the connection's password .*REDIS_URL/,
        );
        expect(io.err.trimEnd().split('\n')).toHaveLength(1);
        expect(code).toBe(ExitCode.failure);
      } finally {
        stop();
      }
    },
  );
});
