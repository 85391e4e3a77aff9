/**
 * vitest global setup: the integration tests use real services on loopback, so make
 * sure Redis and Mosquitto answer before any test runs (starting them when they do not).
 * Afterwards, delete what the tests left under their Redis prefix (each test uses queues of
 * its own and not all of them clean up), so repeated runs do not pile keys up.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deleteKeys } from './redis_keys.js';

export default function setup(): () => Promise<void> {
  const script = fileURLToPath(new URL('../../scripts/ensure_services.sh', import.meta.url));
  execFileSync('bash', [script], { stdio: 'inherit' });
  return async () => {
    const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {}); // a test may have stopped Redis: nothing to clean then
    try {
      await redis.connect();
      await deleteKeys(redis, 'topiq-test');
    } catch {
      // best effort
    } finally {
      redis.disconnect();
    }
  };
}
