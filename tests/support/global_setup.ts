/**
 * vitest global setup: the integration tests use real services on loopback, so make
 * sure Redis and Mosquitto answer before any test runs (starting them when they do not).
 * Afterwards, delete what the tests left under their Redis prefix (each test uses queues of
 * its own and not all of them clean up), so repeated runs do not pile keys up; but only when
 * no other test run on this machine is still going, or its keys would vanish under its tests.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deleteKeys } from './redis_keys.js';

/** The test runs going on now, scored by their start (a sorted set outside `topiq-test:`). */
const RUNS = 'topiq-test-runs';
/** A run that started this long ago and never said it ended (killed) no longer counts. */
const STALE_RUN_MS = 60 * 60 * 1000;

function connect(): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // a test may have stopped Redis: nothing to clean then
  return redis;
}

export default async function setup(): Promise<() => Promise<void>> {
  const script = fileURLToPath(new URL('../../scripts/ensure_services.sh', import.meta.url));
  execFileSync('bash', [script], { stdio: 'inherit' });
  const run = randomBytes(6).toString('hex');
  const redis = connect();
  try {
    await redis.connect();
    await redis.zadd(RUNS, Date.now(), run);
  } finally {
    redis.disconnect();
  }
  return async () => {
    const redis = connect();
    try {
      await redis.connect();
      await redis.zrem(RUNS, run);
      await redis.zremrangebyscore(RUNS, '-inf', Date.now() - STALE_RUN_MS);
      if ((await redis.zcard(RUNS)) === 0) await deleteKeys(redis, 'topiq-test');
    } catch {
      // best effort
    } finally {
      redis.disconnect();
    }
  };
}
