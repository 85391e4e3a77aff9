/**
 * Operator reads and changes on the Redis driver (`RedisRecords`): `listJobs` bounds as the
 * memory driver keeps them, and `clear` against a worker's reserve that runs between its
 * script calls.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { registerScripts } from '../../../core/queue/drivers/redis/scripts.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { newJob } from '../../support/new_job.js';
import { deleteKeys } from '../../support/redis_keys.js';

const PREFIX = 'topiq-test';
const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });
const queues: string[] = [];

/** A fresh queue, whose keys are deleted after the file. */
function nextQueue(label: string): string {
  const queue = uniqueQueue(label);
  queues.push(queue);
  return queue;
}

afterAll(async () => {
  for (const queue of queues) await deleteKeys(driver.redis, `${PREFIX}:{${queue}}`);
  await driver.close();
});

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
