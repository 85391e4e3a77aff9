/**
 * `redisAnswers`, which `serve` waits on before it logs `server.ready`: against a Redis taken
 * away behind a proxy and given back, a password-protected Redis started for the test, and a
 * stop that comes first.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { redisAnswers } from '../../../core/queue/drivers/redis/redis_answers.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { startPrivateRedis } from '../../support/private_redis.js';
import { TcpProxy } from '../../support/tcp_proxy.js';
import { until } from '../../support/until.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A client that gives up on a command quickly, as the app's does not need to here. */
function client(port: number, password?: string): Redis {
  const redis = new Redis({ port, maxRetriesPerRequest: 1, retryStrategy: () => 100, password });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  return redis;
}

describe('redisAnswers', () => {
  it('logs that Redis does not answer, and resolves true once it does', async () => {
    const proxy = await TcpProxy.start(6379);
    cleanups.push(() => proxy.close());
    await proxy.cut();
    const log = capturingLogger('info');
    const answered = redisAnswers(client(proxy.port), log.logger, new AbortController().signal);

    await until('the first failure is logged', () => log.events('server.redis_unavailable').length > 0);
    await proxy.restore();

    expect(await answered).toBe(true);
    expect(log.events('server.redis_unavailable')).toHaveLength(1);
    expect(log.events('server.redis_unavailable')[0]?.msg).toMatch(/does not answer: .*check REDIS_URL/);
    expect(log.events('server.redis_answering')).toHaveLength(1);
  });

  it('resolves false when stopped before Redis answers', async () => {
    const proxy = await TcpProxy.start(6379);
    cleanups.push(() => proxy.close());
    await proxy.cut();
    const log = capturingLogger('info');
    const stop = new AbortController();
    const answered = redisAnswers(client(proxy.port), log.logger, stop.signal);

    await until('the first failure is logged', () => log.events('server.redis_unavailable').length > 0);
    stop.abort();

    expect(await answered).toBe(false);
  });

  it('rejects with E_REDIS_AUTH, saying to set the password in REDIS_URL, when Redis refuses it', async () => {
    const { port, stop } = await startPrivateRedis(['--requirepass', 's3cret'], 's3cret');
    cleanups.push(stop);

    for (const password of [undefined, 'wrong']) {
      const error = await redisAnswers(
        client(port, password),
        capturingLogger('info').logger,
        new AbortController().signal,
      ).catch((caught: unknown) => caught);
      expect(isTopiqError(error, 'E_REDIS_AUTH')).toBe(true);
      expect((error as Error).message).toMatch(/refused the connection's password .*REDIS_URL/);
    }
  });

  it('resolves false for an answer that comes after the stop', async () => {
    const { port, stop } = await startPrivateRedis();
    cleanups.push(stop);
    const pauser = client(port);
    await pauser.call('CLIENT', 'PAUSE', '600', 'ALL'); // the PING below waits for it
    const stopping = new AbortController();
    const answered = redisAnswers(client(port), capturingLogger('info').logger, stopping.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stopping.abort();

    expect(await answered).toBe(false);
  });
});
