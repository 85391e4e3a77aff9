/**
 * Operator reads and changes on the Redis driver (`RedisRecords`): `listJobs` bounds as the
 * memory driver keeps them, `listJobs` against a job that changes status as it reads, and
 * `clear` against a worker's reserve that runs between its script calls.
 */
import { describe, expect, it } from 'vitest';

import { registerScripts } from '../../../core/queue/drivers/redis/scripts.js';
import { sleep } from '../../support/queue_names.js';
import { newJob } from '../../support/new_job.js';
import { redisQueueFile } from '../../support/redis_queue_file.js';

const { driver, nextQueue } = redisQueueFile();
const reserveOptions = { count: 1, leaseMs: 30_000, worker: 'w-list', defaultMaxTries: 1 };

describe('RedisQueueDriver.listJobs bounds', () => {
  it('returns no records for a limit of 0 or less, in every status, as the memory driver does', async () => {
    const queue = nextQueue('list-limit');
    await driver.push([newJob(queue, 'w1'), newJob(queue, 'w2'), newJob(queue, 'c1'), newJob(queue, 'x1')]);
    await driver.cancel(queue, 'x1');
    const [reserved] = (
      await driver.reserve(queue, { count: 1, leaseMs: 30_000, worker: 'w', defaultMaxTries: 1 })
    ).jobs;
    await driver.complete([{ lease: { id: reserved!.id, queue, token: reserved!.token }, result: 'null' }]);
    for (const status of ['queued', 'completed', 'cancelled'] as const) {
      expect((await driver.listJobs(queue, status, 0, 5)).length, status).toBeGreaterThan(0);
      expect(await driver.listJobs(queue, status, 0, 0), status).toEqual([]);
      expect(await driver.listJobs(queue, status, 1, -1), status).toEqual([]);
    }
  });

  it('reads a negative offset as 0, not as a place counted from the other end', async () => {
    const queue = nextQueue('list-offset');
    await driver.push(['j1', 'j2', 'j3'].map((id) => newJob(queue, id)));
    const ids = async (offset: number, limit: number) =>
      (await driver.listJobs(queue, 'queued', offset, limit)).map((record) => record.id);
    expect(await ids(-2, 2)).toEqual(['j1', 'j2']);
    expect(await ids(-2, 2)).toEqual(await ids(0, 2));
  });
});

/** Runs `move` once, right after `command` (`zrange`, `zrevrange`) of the driver's connection returns. */
async function afterCommand<T>(
  command: 'zrange' | 'zrevrange',
  move: () => Promise<unknown>,
  read: () => Promise<T>,
): Promise<T> {
  const redis = driver.redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = redis[command]!;
  let moved = false;
  redis[command] = async (...args: unknown[]) => {
    const reply = await original.apply(driver.redis, args);
    if (!moved) {
      moved = true;
      await move();
    }
    return reply;
  };
  try {
    const result = await read();
    // however the driver reads, the job has moved by the time the test looks
    if (!moved) await move();
    return result;
  } finally {
    redis[command] = original;
  }
}

describe('RedisQueueDriver.listJobs while jobs move', () => {
  it('gives a job that completes as the running ids are read as running or not at all, never its completed record', async () => {
    const queue = nextQueue('list-complete');
    await driver.push([newJob(queue, 'r-1')]);
    const [job] = (await driver.reserve(queue, reserveOptions)).jobs;
    const complete = () =>
      driver.complete([{ lease: { id: job!.id, queue, token: job!.token }, result: 'null' }]);
    const records = await afterCommand('zrange', complete, () => driver.listJobs(queue, 'running', 0, 10));
    // read before the completion or after it, but not its id before and its record after
    for (const record of records) expect(`${record.id}:${record.status}`).toBe('r-1:running');
    const completed = await driver.listJobs(queue, 'completed', 0, 10);
    expect(completed.map((record) => `${record.id}:${record.status}`)).toEqual(['r-1:completed']);
  });

  it('gives a failed job retried as the failed ids are read as failed or not at all, never its queued record', async () => {
    const queue = nextQueue('list-retry');
    await driver.push([newJob(queue, 'f-1', { maxTries: 1 })]);
    const [job] = (await driver.reserve(queue, reserveOptions)).jobs;
    await driver.fail({
      lease: { id: job!.id, queue, token: job!.token },
      error: { message: 'boom' },
      retryInMs: null,
    });
    const retry = () => driver.retryFailed(queue, { ids: ['f-1'] });
    const records = await afterCommand('zrevrange', retry, () => driver.listFailed(queue, 0, 10));
    for (const record of records) expect(`${record.id}:${record.status}`).toBe('f-1:failed');
    expect((await driver.getJob(queue, 'f-1'))?.status).toBe('queued');
  });
});

describe('RedisQueueDriver.clear', () => {
  it('misses no delayed job that a reserve moves to the wait set while it runs', async () => {
    const queue = nextQueue('clear-race');
    const runAt = Date.now() + 300;
    await driver.push(['d1', 'd2', 'd3'].map((id) => newJob(queue, id, { runAt })));
    expect(await driver.counts(queue)).toMatchObject({ delayed: 3, waiting: 0 });
    // between clear's first script call and its next, the jobs come due and a worker reserves
    // one, moving the others to the wait set (the script's command wrapped on this client only:
    // the test files share one module graph, so no module is mocked)
    registerScripts(driver.redis);
    const commands = driver.redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const removeJobs = commands.topiq_remove_jobs!;
    let interleaved = false;
    commands.topiq_remove_jobs = async (...args) => {
      const result = await removeJobs.apply(driver.redis, args);
      if (!interleaved) {
        interleaved = true;
        await sleep(Math.max(0, runAt - Date.now()) + 100);
        await driver.reserve(queue, { count: 1, leaseMs: 30_000, worker: 'w', defaultMaxTries: 1 });
      }
      return result;
    };
    try {
      await driver.clear(queue);
    } finally {
      commands.topiq_remove_jobs = removeJobs;
    }
    expect(interleaved).toBe(true);
    expect(await driver.counts(queue)).toMatchObject({ delayed: 0, waiting: 0 });
  });
});
