/**
 * Worker heartbeats and queue statistics on Redis go by the Redis server's clock, the clock the
 * scripts stamp records with: workers, the operator's machine and Redis need not agree.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { WorkerInfo } from '../../../core/queue/driver.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { sleep } from '../../support/queue_names.js';
import { newJob } from '../../support/new_job.js';
import { deleteKeys } from '../../support/redis_keys.js';

const prefix = `topiq-test-monitoring-${randomBytes(3).toString('hex')}`;
const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
afterAll(async () => {
  await deleteKeys(driver.redis, prefix);
  await driver.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const info = (id: string, at = Date.now()): WorkerInfo => ({
  id,
  host: 'h',
  pid: 1,
  queues: ['q'],
  concurrency: 1,
  runningJobIds: [],
  startedAt: at,
  heartbeatAt: at,
});
const reserveOptions = { count: 10, leaseMs: 30_000, worker: 'w1', defaultMaxTries: 1 };

async function serverNow(): Promise<number> {
  const [seconds, micros] = await driver.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('redis worker heartbeats', () => {
  it('answers the heartbeat it replaced only when another worker wrote it under the name', async () => {
    const mine = info('shared-name');
    expect(await driver.heartbeat(mine, 15_000)).toBeUndefined();
    expect(await driver.heartbeat({ ...mine, heartbeatAt: mine.heartbeatAt + 5000 }, 15_000)).toBeUndefined();
    const other = { ...mine, pid: 2 };
    expect(await driver.heartbeat(other, 15_000)).toMatchObject({ id: 'shared-name', pid: 1 });
    expect(await driver.heartbeat({ ...other, startedAt: other.startedAt + 1 }, 15_000)).toMatchObject({
      pid: 2,
    });
    await driver.removeWorker('shared-name');
  });

  it('lists a live worker whose own clock runs 20 s behind the Redis server', async () => {
    const real = Date.now;
    vi.spyOn(Date, 'now').mockImplementation(() => real() - 20_000);
    await driver.heartbeat(info('behind'), 15_000);
    vi.restoreAllMocks();
    expect((await driver.workers()).map((worker) => worker.id)).toContain('behind');
    await driver.removeWorker('behind');
  });

  it("gives a worker's heartbeat and start times on the reader's clock, though the worker's runs 5 min off", async () => {
    const real = Date.now;
    const started = real() - 2_000; // up 2 s, by the worker's clock as much as by any
    vi.spyOn(Date, 'now').mockImplementation(() => real() - 300_000);
    await driver.heartbeat({ ...info('slow-clock', real() - 300_000), startedAt: started - 300_000 }, 15_000);
    vi.restoreAllMocks();

    const [listed] = (await driver.workers()).filter((worker) => worker.id === 'slow-clock');
    expect(Math.abs(real() - listed!.heartbeatAt)).toBeLessThan(1_000); // it just beat
    expect(Math.abs(started - listed!.startedAt)).toBeLessThan(1_000);
    await driver.removeWorker('slow-clock');
  });

  it('gives the same ages to a reader whose own clock runs 5 min ahead', async () => {
    const real = Date.now;
    await driver.heartbeat({ ...info('fine-clock'), startedAt: real() - 2_000 }, 15_000);
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 300_000);
    const [listed] = (await driver.workers()).filter((worker) => worker.id === 'fine-clock');
    const readerNow = Date.now();
    vi.restoreAllMocks();

    expect(Math.abs(readerNow - listed!.heartbeatAt)).toBeLessThan(1_000);
    expect(Math.abs(readerNow - 2_000 - listed!.startedAt)).toBeLessThan(1_000);
    await driver.removeWorker('fine-clock');
  });

  it('pairs each heartbeat with its own time when a beat lands while the list is read', async () => {
    const started = Date.now() - 10_000;
    await driver.heartbeat({ ...info('beating'), startedAt: started }, 15_000);
    await sleep(1_500);
    // the next beat reaches Redis after the live ids were read, before the records are (sent on
    // the same connection ahead of whichever read of the records comes first)
    let beaten = false;
    const beatFirst = () => {
      if (beaten) return;
      beaten = true;
      void driver.heartbeat({ ...info('beating'), startedAt: started }, 15_000);
    };
    const { redis } = driver;
    const [multi, mget] = [redis.multi.bind(redis), redis.mget.bind(redis)];
    vi.spyOn(redis, 'multi').mockImplementation(((...args: Parameters<typeof multi>) => {
      beatFirst();
      return multi(...args);
    }) as typeof redis.multi);
    vi.spyOn(redis, 'mget').mockImplementation(((...args: Parameters<typeof mget>) => {
      beatFirst();
      return mget(...args);
    }) as typeof redis.mget);

    const [listed] = (await driver.workers()).filter((worker) => worker.id === 'beating');
    vi.restoreAllMocks();
    expect(beaten).toBe(true);
    expect(Math.abs(listed!.startedAt - started)).toBeLessThan(500); // not 1.5 s too early
    expect(Date.now() - listed!.heartbeatAt).toBeLessThan(500);
    await driver.removeWorker('beating');
  });

  it('lists no heartbeat that lacks the fields of one (written by hand, or damaged)', async () => {
    await driver.heartbeat(info('whole'), 15_000);
    await driver.heartbeat(info('damaged'), 15_000);
    await driver.redis.set(`${prefix}:worker:damaged`, JSON.stringify({ id: 'damaged' }), 'PX', 15_000);
    expect((await driver.workers()).map((worker) => worker.id)).toEqual(['whole']);
    // a time no Date holds (queue:workers would fail to print it)
    const farOff = { ...info('damaged'), startedAt: 1e300, ttlMs: 15_000 };
    await driver.redis.set(`${prefix}:worker:damaged`, JSON.stringify(farOff), 'PX', 15_000);
    expect((await driver.workers()).map((worker) => worker.id)).toEqual(['whole']);
    // and a worker beating over it is not told another one holds its name
    expect(await driver.heartbeat(info('damaged'), 15_000)).toBeUndefined();
    await driver.removeWorker('whole');
    await driver.removeWorker('damaged');
  });

  it('lists the live workers though the set holds a member no worker can have (added by hand), and drops it', async () => {
    await driver.heartbeat(info('listed'), 15_000);
    await driver.redis.zadd(driver.keys.workerSet, String((await serverNow()) + 600_000), 'bad name');
    expect((await driver.workers()).map((worker) => worker.id)).toEqual(['listed']);
    expect(await driver.redis.zrange(driver.keys.workerSet, 0, -1)).toEqual(['listed']);
    await driver.removeWorker('listed');
  });

  it('drops the ids of workers that stopped beating on the next heartbeat of any worker', async () => {
    for (let i = 0; i < 5; i++) await driver.heartbeat(info(`killed-${i}`), 50);
    await sleep(120);
    await driver.heartbeat(info('alive'), 15_000);
    expect(await driver.redis.zrange(driver.keys.workerSet, 0, -1)).toEqual(['alive']);
    await driver.removeWorker('alive');
  });

  it('refuses a heartbeat under a name that is not a valid worker name, storing nothing', async () => {
    await expect(driver.heartbeat(info('w{1}'), 15_000)).rejects.toMatchObject({
      code: 'E_INVALID_WORKER_NAME',
    });
    expect(await driver.redis.zrange(driver.keys.workerSet, 0, -1)).not.toContain('w{1}');
  });
});

describe('redis queue stats', () => {
  it('counts the completions of the current 10-second bucket and the six before it (60-70 s)', async () => {
    const queue = 'stats-window';
    const bucketKey = (bucket: number) => `${driver.keys.queue(queue).doneBucket}${bucket}`;
    await driver.push([newJob(queue, 'now')]);
    const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
    await driver.complete([{ lease: { id: 'now', queue, token: reserved!.token }, result: 'null' }]);
    // read within one bucket: one that turns meanwhile shifts the window, so read again
    for (let tries = 0; ; tries++) {
      const bucket = Math.floor((await serverNow()) / 10_000);
      await driver.redis.set(bucketKey(bucket - 6), '2', 'PX', 130_000);
      await driver.redis.set(bucketKey(bucket - 7), '4', 'PX', 130_000);
      const stats = await driver.stats(queue);
      if (Math.floor((await serverNow()) / 10_000) === bucket || tries === 3) {
        // the completion now, and the two of 60-70 s ago; not those of 70-80 s ago
        expect(stats.completedLastMinute).toBe(3);
        break;
      }
    }
  });

  it("counts a completion in the Redis server's bucket whatever the worker's clock says", async () => {
    const queue = 'stats-clock';
    await driver.push([newJob(queue, 'ahead')]);
    const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
    const real = Date.now;
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000);
    await driver.complete([{ lease: { id: 'ahead', queue, token: reserved!.token }, result: 'null' }]);
    vi.restoreAllMocks();
    expect((await driver.stats(queue)).completedLastMinute).toBe(1);
  });

  it("measures the oldest waiting job's age on the Redis server's clock", async () => {
    const queue = 'stats-oldest';
    await driver.push([newJob(queue, 'waiting')]);
    const real = Date.now;
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000);
    const { oldestWaitingMs } = await driver.stats(queue);
    vi.restoreAllMocks();
    expect(oldestWaitingMs).toBeLessThan(60_000);
  });
});
