/**
 * A push sent again: after its first try failed in one queue having stored another queue's
 * jobs, or after Redis stored it and the reply was lost (ioredis sends it again). The jobs the
 * first try stored must be answered the status they were added in, with their `queued` event,
 * not `duplicate` (which the MQTT job command topic would report as "nothing dispatched").
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  type JobEvent,
  JobEventPublisher,
  RedisQueueDriver,
  silentLogger,
} from '../../../core/index.js';
import { DispatchBatcher } from '../../../core/messaging/dispatch_batcher.js';
import { driversBehindProxy, firstRequestOf } from '../../support/redis_behind_proxy.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { EchoJob } from '../../support/test_jobs.js';
import { newJob } from '../../support/new_job.js';
import { until } from '../../support/until.js';

type Cleanups = (() => Promise<unknown>)[];

/** A driver on a prefix of its own, with queue `broken` unable to take jobs (its order counter holds no integer). */
async function driverWithBrokenQueue(cleanups: Cleanups) {
  const prefix = `push-again-${randomBytes(3).toString('hex')}`;
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
  cleanups.push(async () => {
    await deleteKeys(driver.redis, prefix);
    await driver.close();
  });
  await driver.redis.set(driver.keys.queue('broken').seq, 'not-a-number');
  return driver;
}

describe('RedisQueueDriver.push sent again', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('answers the jobs its first try stored in another queue as added, not duplicate, and names the key that refused', async () => {
    const driver = await driverWithBrokenQueue(cleanups);
    const jobs = [
      newJob('fine', 'mine', { pushToken: 'push-1' }),
      newJob('fine', 'generated', { pushToken: 'generated', runAt: Date.now() + 60_000 }),
      newJob('broken', 'refused', { pushToken: 'refused' }),
    ];
    const refusal = await driver.push(jobs).catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      code: 'E_REDIS_WRONG_TYPE',
      message: expect.stringContaining(
        `${driver.keys.queue('broken').seq}, the order counter of queue "broken"`,
      ),
    });
    expect(await driver.counts('fine')).toMatchObject({ waiting: 1, delayed: 1 });

    // one by one, as the ingest batcher sends a refused batch again
    expect(await driver.push([jobs[0]!])).toEqual(['queued']);
    expect(await driver.push([jobs[1]!])).toEqual(['delayed']);
    // another dispatch of the caller's id is still a duplicate
    expect(await driver.push([newJob('fine', 'mine', { pushToken: 'push-2' })])).toEqual(['duplicate']);
    expect(await driver.push([newJob('fine', 'mine')])).toEqual(['duplicate']);
    expect(await driver.counts('fine')).toMatchObject({ waiting: 1, delayed: 1 });
  });

  it('answers queued, with its queued event, a dispatch whose push Redis stored and whose reply was lost', async () => {
    const { direct, proxy, driver, queue } = await driversBehindProxy(cleanups, 'push-lost');
    const seen: JobEvent[] = [];
    cleanups.push(await direct.subscribeEvents((event) => seen.push(event)));
    const dispatcher = new Dispatcher(driver, undefined, new JobEventPublisher(driver));

    // a fresh connection sends the script's text first: its second line marks the push
    proxy.dropRepliesAfter(firstRequestOf('push_jobs'));
    const job = dispatcher.build({
      job: EchoJob,
      payload: { tag: 't', value: 'v' } as never,
      options: { queue, jobId: 'reading-1' },
    });
    const stored = dispatcher.store([job]);
    await until('the push reaches Redis and its reply is lost', async () => {
      return proxy.droppingReplies && (await direct.getJob(queue, 'reading-1')) !== undefined;
    });
    await proxy.cut(); // ioredis reconnects and sends the push again
    await proxy.restore();

    expect(await stored).toEqual(['queued']);
    await until('the queued event', () =>
      seen.some((event) => event.id === 'reading-1' && event.status === 'queued'),
    );
    expect(await direct.counts(queue)).toMatchObject({ waiting: 1 });
  });
});

describe('DispatchBatcher over Redis, one queue of its batch refusing its jobs', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('resolves the jobs of the other queues as queued, with their event, and fails the refused ones with a typed error', async () => {
    const driver = await driverWithBrokenQueue(cleanups);
    const seen: JobEvent[] = [];
    cleanups.push(await driver.subscribeEvents((event) => seen.push(event)));
    const dispatcher = new Dispatcher(driver, undefined, new JobEventPublisher(driver));
    const batcher = new DispatchBatcher((jobs) => dispatcher.store(jobs), silentLogger());
    cleanups.push(async () => batcher.close());
    // build takes any job class, so its payload is not typed: the dispatch calls check it
    const payload = { tag: 't', value: 'v' } as never;
    const fine = dispatcher.build({ job: EchoJob, payload, options: { queue: 'fine' } });
    const mine = dispatcher.build({ job: EchoJob, payload, options: { queue: 'fine', jobId: 'reading-2' } });
    const refused = dispatcher.build({ job: EchoJob, payload, options: { queue: 'broken' } });

    const [fineOutcome, mineOutcome, refusedOutcome] = await Promise.allSettled([
      batcher.add(fine),
      batcher.add(mine),
      batcher.add(refused),
    ]);
    expect(fineOutcome).toEqual({ status: 'fulfilled', value: 'queued' });
    expect(mineOutcome).toEqual({ status: 'fulfilled', value: 'queued' });
    expect(refusedOutcome).toMatchObject({ status: 'rejected', reason: { code: 'E_REDIS_WRONG_TYPE' } });
    await until('the queued events', () =>
      [fine.id, 'reading-2'].every((id) =>
        seen.some((event) => event.id === id && event.status === 'queued'),
      ),
    );
    expect(await driver.counts('fine')).toMatchObject({ waiting: 2 });
  });
});
