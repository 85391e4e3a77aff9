/**
 * Redis drivers for tests of calls whose reply is lost: one straight to Redis, one through a
 * proxy the test can cut, so no other client is disturbed.
 */
import { randomBytes } from 'node:crypto';
import { RedisQueueDriver } from '../../core/index.js';
import { type ScriptName, scriptSources } from '../../core/queue/drivers/redis/scripts.js';
import { deleteKeys } from './redis_keys.js';
import { TcpProxy } from './tcp_proxy.js';

export type Cleanups = (() => Promise<unknown>)[];

/** A driver straight to Redis and one through a proxy the test can cut, on a prefix of their own. */
export async function driversBehindProxy(cleanups: Cleanups, name: string) {
  const prefix = `${name}-${randomBytes(3).toString('hex')}`;
  const direct = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
  cleanups.push(async () => {
    await deleteKeys(direct.redis, prefix);
    await direct.close();
  });
  const proxy = await TcpProxy.start(6379);
  cleanups.push(() => proxy.close());
  const driver = new RedisQueueDriver({ connection: `redis://127.0.0.1:${proxy.port}`, prefix });
  cleanups.push(() => driver.close());
  return { prefix, queue: name, direct, proxy, driver };
}

/** The second line of a script: a fresh connection sends a script's text (EVAL) before its SHA. */
export function firstRequestOf(script: ScriptName): string {
  return scriptSources().get(script)!.split('\n')[1]!.trim();
}
