/** A Redis server of a test's own, for what the shared one must not be put through. */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './net.js';
import { until } from './until.js';

/**
 * Starts `redis-server` on a free port with `args` (no persistence), resolving once it answers;
 * `stop()` ends it.
 *
 * @example
 * const redis = await startPrivateRedis(['--requirepass', 's3cret'], 's3cret');
 */
export async function startPrivateRedis(
  args: readonly string[] = [],
  password?: string,
): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', ...args],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis({
    port,
    password,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
    lazyConnect: true,
  });
  probe.on('error', () => {});
  try {
    await until('the private Redis answers', async () => (await probe.ping().catch(() => '')) === 'PONG');
  } finally {
    probe.disconnect();
  }
  return { port, stop: () => void server.kill() };
}
