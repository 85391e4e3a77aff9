/**
 * A reserve call whose reply is lost: the connection fails after Redis ran the call and
 * before its answer got back, and ioredis sends the call again once it has reconnected.
 * The jobs the first run leased must reach the worker then, not wait out their leases
 * (which would count an attempt, and fail a job on its last try, that never ran). The
 * worker reaches Redis through a proxy the test cuts, so no other client is disturbed.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, JobRegistry, RedisQueueDriver, Worker } from '../../../core/index.js';
import { scriptSources } from '../../../core/queue/drivers/redis/scripts.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { TcpProxy } from '../../support/tcp_proxy.js';
import { EchoJob, entries } from '../../support/test_jobs.js';
import { until } from '../../support/until.js';

describe('a worker whose reserve reply is lost', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.each([
    ['ioredis sends the call again on reconnecting', 0],
    ['the call fails (Redis away past its retries) and the next one goes under its number', 2000],
  ])('gets the jobs the first run of the call leased and runs them: %s', async (_how, outageMs) => {
    const prefix = `lost-reply-${randomBytes(3).toString('hex')}`;
    const queue = 'lost-reply';
    const direct = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
    cleanups.push(async () => {
      await deleteKeys(direct.redis, prefix);
      await direct.close();
    });
    const proxy = await TcpProxy.start(6379);
    const driver = new RedisQueueDriver({ connection: `redis://127.0.0.1:${proxy.port}`, prefix });
    cleanups.push(() => driver.close());
    const registry = new JobRegistry().register(EchoJob);
    const tag = prefix;
    // its one try: had the worker not got it, its lease would end in a failure
    const id = await new Dispatcher(direct, registry).dispatch(
      EchoJob,
      { tag, value: 'once' },
      { queue, maxTries: 1 },
    );
    // A fresh connection sends a script's text (EVAL) before its SHA: the reserve call is the
    // first request to carry a line of reserve_jobs.lua.
    const marker = scriptSources().get('reserve_jobs')!.split('\n')[1]!.trim();
    expect(marker).toMatch(/^Reserves up to/);
    proxy.dropRepliesAfter(marker);

    const leaseMs = 6000;
    const worker = new Worker({ driver, registry, queues: [queue], leaseMs, sleep: 0.2 });
    const run = worker.run();
    cleanups.push(() => worker.shutdown());
    cleanups.push(() => proxy.close());
    await until('the reserve reaches Redis and its reply is lost', async () => {
      return proxy.droppingReplies && (await direct.getJob(queue, id))?.status === 'running';
    });
    const cutAt = Date.now();
    await proxy.cut();
    if (outageMs > 0) await new Promise((resolve) => setTimeout(resolve, outageMs));
    await proxy.restore();

    await until('the job completes', async () => (await direct.getJob(queue, id))?.status === 'completed');
    expect(Date.now() - cutAt).toBeLessThan(leaseMs); // not by way of an ended lease
    expect(entries(tag)).toEqual(['once@1']);
    expect(await direct.getJob(queue, id)).toMatchObject({ attempts: 1 });
    worker.stop();
    expect(await run).toBe('stopped');
  });
});
