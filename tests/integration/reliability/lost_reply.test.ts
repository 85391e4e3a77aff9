import { afterEach, describe, expect, it, vi } from 'vitest';
import { Dispatcher, type JobEvent, JobEventPublisher, JobRegistry, Worker } from '../../../core/index.js';
import type { ScriptName } from '../../../core/queue/drivers/redis/scripts.js';
import { type Cleanups, driversBehindProxy, firstRequestOf } from '../../support/redis_behind_proxy.js';
import type { TcpProxy } from '../../support/tcp_proxy.js';
import { DoomedJob, EchoJob, entries } from '../../support/test_jobs.js';
import { until } from '../../support/until.js';

/** Loses the reply in flight: the connection drops, and Redis is away for `outageMs`. */
async function loseReply(proxy: TcpProxy, outageMs: number): Promise<void> {
  await proxy.cut();
  if (outageMs > 0) await new Promise((resolve) => setTimeout(resolve, outageMs));
  await proxy.restore();
}

describe('a worker whose reserve reply is lost', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const outages: [string, number][] = [
    ['ioredis sends the call again on reconnecting', 0],
    ['the call fails (Redis away past its retries) and the next one goes under its number', 2000],
  ];

  it.each(outages)(
    'gets the jobs the first run of the call leased and runs them: %s',
    async (_how, outageMs) => {
      const { prefix, queue, direct, proxy, driver } = await driversBehindProxy(cleanups, 'lost-reply');
      const registry = new JobRegistry().register(EchoJob);
      const tag = prefix;
      // its one try: had the worker not got it, its lease would end in a failure
      const id = await new Dispatcher(direct, registry).dispatch(
        EchoJob,
        { tag, value: 'once' },
        { queue, maxTries: 1 },
      );
      // the reserve call is the first request to carry a line of reserve_jobs.lua
      const marker = firstRequestOf('reserve_jobs');
      expect(marker).toMatch(/^Reserves up to/);
      proxy.dropRepliesAfter(marker);

      const leaseMs = 6000;
      const worker = new Worker({ driver, registry, queues: [queue], leaseMs, sleep: 0.2 });
      const run = worker.run();
      cleanups.push(() => worker.shutdown());
      await until('the reserve reaches Redis and its reply is lost', async () => {
        return proxy.droppingReplies && (await direct.getJob(queue, id))?.status === 'running';
      });
      const cutAt = Date.now();
      await loseReply(proxy, outageMs);

      await until('the job completes', async () => (await direct.getJob(queue, id))?.status === 'completed');
      expect(Date.now() - cutAt).toBeLessThan(leaseMs); // not by way of an ended lease
      expect(entries(tag)).toEqual(['once@1']);
      expect(await direct.getJob(queue, id)).toMatchObject({ attempts: 1 });
      worker.stop();
      expect(await run).toBe('stopped');
    },
  );

  it.each(outages)(
    'publishes the expired event of a job the lost call expired: %s',
    async (_how, outageMs) => {
      const { prefix, queue, direct, proxy, driver } = await driversBehindProxy(cleanups, 'lost-settled');
      const seen: JobEvent[] = [];
      const unsubscribe = await direct.subscribeEvents((event) => seen.push(event));
      cleanups.push(unsubscribe);
      const registry = new JobRegistry().register(EchoJob);
      const id = await new Dispatcher(direct, registry).dispatch(
        EchoJob,
        { tag: prefix, value: 'late' },
        { queue, expiresAt: Date.now() - 1000 },
      );
      proxy.dropRepliesAfter(firstRequestOf('reserve_jobs'));
      const worker = new Worker({
        driver,
        registry,
        queues: [queue],
        events: new JobEventPublisher(driver),
        sleep: 0.2,
      });
      const run = worker.run();
      cleanups.push(() => worker.shutdown());
      await until('the reserve expires the job and its reply is lost', async () => {
        return proxy.droppingReplies && (await direct.getJob(queue, id))?.status === 'expired';
      });
      await loseReply(proxy, outageMs);

      // only the reply of the call run again can tell the worker, and it does
      await until('the expired event', () =>
        seen.some((event) => event.id === id && event.status === 'expired'),
      );
      expect(entries(prefix)).toEqual([]);
      worker.stop();
      expect(await run).toBe('stopped');
    },
  );
});

describe('a worker whose complete or fail reply is lost', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const outages: [string, number][] = [
    ['ioredis sends the call again on reconnecting', 0],
    ['the call fails (Redis away past its retries) and the worker sends it again', 2000],
  ];

  /** A worker behind a proxy that loses every reply from the first call of `script` on. */
  async function workerLosingReplyOf(script: ScriptName) {
    const { prefix, queue, direct, proxy, driver } = await driversBehindProxy(cleanups, 'lost-ack');
    const seen: JobEvent[] = [];
    const unsubscribe = await direct.subscribeEvents((event) => seen.push(event));
    cleanups.push(unsubscribe);
    const registry = new JobRegistry().register(EchoJob, DoomedJob);
    const marker = firstRequestOf(script);
    proxy.dropRepliesAfter(marker);
    const events = new JobEventPublisher(driver);
    const worker = new Worker({ driver, registry, queues: [queue], events, sleep: 0.2 });
    cleanups.push(() => worker.shutdown());
    const dispatcher = new Dispatcher(direct, registry);
    const statusesOf = (id: string) => seen.filter((event) => event.id === id).map((event) => event.status);
    return { prefix, queue, direct, proxy, worker, dispatcher, statusesOf };
  }

  it('checks the marker is a line only the script sends', () => {
    expect(firstRequestOf('complete_jobs')).toMatch(/^Marks jobs completed/);
    expect(firstRequestOf('fail_job')).toMatch(/^Records a failed attempt/);
  });

  it('answers a complete sent again after other calls on the same driver, as workers sharing it make', async () => {
    const { prefix, queue, direct, proxy, driver } = await driversBehindProxy(cleanups, 'lost-ack');
    await new Dispatcher(direct, new JobRegistry().register(EchoJob)).dispatch(
      EchoJob,
      { tag: prefix, value: 'x' },
      { queue, jobId: 'shared' },
    );
    const reserveOptions = { count: 1, leaseMs: 30_000, worker: 'w', defaultMaxTries: 1 };
    const [job] = (await driver.reserve(queue, reserveOptions)).jobs;
    proxy.dropRepliesAfter(firstRequestOf('complete_jobs'));
    const batch = [{ lease: { id: job!.id, queue, token: job!.token }, result: 'null' }];
    const first = driver.complete(batch);
    await until('the complete to reach Redis', async () => {
      return (await direct.getJob(queue, 'shared'))?.status === 'completed';
    });
    await proxy.cut();
    await expect(first).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    await proxy.restore();
    // another worker's 100 acknowledgements on the same driver and queue, meanwhile
    const stranger = [{ lease: { id: 'nobody', queue, token: 'none' }, result: 'null' }];
    for (let i = 0; i < 100; i++) expect(await driver.complete([...stranger])).toEqual([false]);
    expect(await driver.complete(batch)).toEqual([true]);
  });

  it('stops keeping the answer of a failed complete never sent again, ten minutes on', async () => {
    const { queue, direct, proxy, driver } = await driversBehindProxy(cleanups, 'lost-ack');
    const acked = direct.keys.queue(queue).acked;
    const answersKept = async () => {
      const [key] = await direct.redis.keys(`${acked}*`);
      return (await direct.redis.hlen(key!)) - 1; // and 'floor'
    };
    const stranger = () => [{ lease: { id: 'nobody', queue, token: 'none' }, result: 'null' }];
    await driver.complete(stranger());
    await proxy.cut();
    // a call that fails, and whose caller gives up on it
    const given = stranger();
    await expect(driver.complete(given)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    await proxy.restore();
    for (let i = 0; i < 100; i++) await driver.complete(stranger());
    expect(await answersKept()).toBe(100); // every one after call 2: it might still be sent again
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000);
      await driver.complete(stranger());
      // sent again after all: under a new number, as its old answer is no longer kept
      await driver.complete(given);
    } finally {
      vi.useRealTimers();
    }
    expect(await answersKept()).toBe(64);
  });

  it.each(outages)(
    'publishes the completed event of a job whose complete ran: %s',
    async (_how, outageMs) => {
      const { prefix, queue, direct, proxy, worker, dispatcher, statusesOf } =
        await workerLosingReplyOf('complete_jobs');
      const id = await dispatcher.dispatch(EchoJob, { tag: prefix, value: 'acked' }, { queue });
      const run = worker.run();
      await until('the complete reaches Redis and its reply is lost', async () => {
        return proxy.droppingReplies && (await direct.getJob(queue, id))?.status === 'completed';
      });
      await loseReply(proxy, outageMs);

      await until(
        'the completed event',
        () => statusesOf(id).includes('completed'),
        10_000,
        () => statusesOf(id),
      );
      // the events' own PUBLISH can be sent again too, so `running` may come twice
      expect(statusesOf(id).filter((status) => status !== 'running')).toEqual(['completed']);
      expect(entries(prefix)).toEqual(['acked@1']);
      worker.stop();
      expect(await run).toBe('stopped');
    },
  );

  it.each(outages)(
    'calls failed() and publishes failed for a job whose fail ran: %s',
    async (_how, outageMs) => {
      const { prefix, queue, direct, proxy, worker, dispatcher, statusesOf } =
        await workerLosingReplyOf('fail_job');
      const id = await dispatcher.dispatch(DoomedJob, { tag: prefix }, { queue });
      const run = worker.run();
      await until('the fail reaches Redis and its reply is lost', async () => {
        return proxy.droppingReplies && (await direct.getJob(queue, id))?.status === 'failed';
      });
      await loseReply(proxy, outageMs);

      await until(
        'the failed() hook',
        () => entries(prefix).length === 2,
        10_000,
        () => entries(prefix),
      );
      expect(entries(prefix)).toEqual(['ran', 'failed: E_UNRECOVERABLE']);
      await until(
        'the failed event',
        () => statusesOf(id).includes('failed'),
        5_000,
        () => statusesOf(id),
      );
      expect(statusesOf(id).filter((status) => status !== 'running')).toEqual(['failed']);
      expect(await direct.getJob(queue, id)).toMatchObject({ status: 'failed', attempts: 1 });
      worker.stop();
      expect(await run).toBe('stopped');
    },
  );
});
