/**
 * Per-test setup of the reliability tests: a unique key prefix and queue, a driver and
 * dispatcher on them, readers of the job journal, and worker processes that are always
 * killed afterwards (and whose output is printed when the test fails). Every key under
 * the prefix is deleted after the test.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, onTestFailed } from 'vitest';
import { Dispatcher, RedisQueueDriver } from '../../core/index.js';
import { sleep, uniqueQueue } from './queue_names.js';
import { deleteKeys } from './redis_keys.js';
import {
  type JournalKeys,
  journalKeys,
  parseStarted,
  ReliabilityJob,
  type StartedEntry,
} from './reliability_job.js';
import type { WorkerProcessSettings } from './worker_process_settings.js';
import { spawnWorkerProcess, type WorkerProcess } from './worker_processes.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

export interface ReliabilityFixture {
  prefix: string;
  queue: string;
  /** Connection for inspecting Redis (and killing other clients); not a worker's. */
  redis: Redis;
  driver: RedisQueueDriver;
  keys: JournalKeys;
  /** Spawns a worker process on this test's queue and prefix, without waiting for it. */
  spawnWorker(settings?: Partial<WorkerProcessSettings>): WorkerProcess;
  /** Spawns a worker process and waits for its `ready` line. */
  startWorker(settings?: Partial<WorkerProcessSettings>): Promise<WorkerProcess>;
  /** Dispatches `count` jobs that sleep `ms` each, in one `dispatchMany`; resolves to their ids. */
  dispatch(count: number, ms: number, options?: { maxTries?: number }): Promise<string[]>;
  /**
   * Whether a worker has reported job `id` started under its current lease (a lease renewal
   * or a progress report wrote its token to the job hash's `ran` field), so that a crash
   * counts the attempt.
   */
  knownStarted(id: string): Promise<boolean>;
  started(): Promise<StartedEntry[]>;
  /** Ids of every execution that finished `handle()`, in order (an id twice ran twice). */
  handled(): Promise<string[]>;
  handledCount(): Promise<number>;
  /** Kills, from the server side, every client connection named `name`; resolves to how many. */
  killConnections(name: string): Promise<number>;
}

/**
 * Registers the cleanup of the enclosing file or `describe` and returns the factory
 * each test calls once.
 *
 * @example
 * const setup = useReliabilityFixture('crash');
 * it('...', async () => {
 *   const { startWorker, dispatch } = setup();
 * });
 */
export function useReliabilityFixture(label: string): () => ReliabilityFixture {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return () => {
    const fixture = createFixture(label);
    cleanups.push(fixture.cleanup);
    onTestFailed(() => {
      for (const worker of fixture.workers) console.error(worker.describe());
    });
    return fixture.api;
  };
}

function createFixture(label: string) {
  const prefix = `test-rel-${randomBytes(4).toString('hex')}`;
  const queue = uniqueQueue(`rel-${label}`);
  const redis = new Redis(REDIS_URL);
  const driver = new RedisQueueDriver({ connection: REDIS_URL, prefix });
  const dispatcher = new Dispatcher(driver);
  const keys = journalKeys(prefix);
  const workers: WorkerProcess[] = [];

  const spawnWorker = (settings: Partial<WorkerProcessSettings> = {}) => {
    const worker = spawnWorkerProcess({ prefix, queue, ...settings });
    workers.push(worker);
    return worker;
  };

  const api: ReliabilityFixture = {
    prefix,
    queue,
    redis,
    driver,
    keys,
    spawnWorker,
    startWorker: (settings) => spawnWorker(settings).ready(),
    dispatch: (count, ms, options = {}) =>
      dispatcher.dispatchMany(
        Array.from({ length: count }, () => ({
          job: ReliabilityJob,
          payload: { ms },
          options: { queue, ...options },
        })),
      ),
    knownStarted: async (id) => {
      const jobKey = `${driver.keys.queue(queue).job}${id}`;
      const [ran, lease] = await Promise.all([
        redis.hget(jobKey, 'ran'),
        redis.hget(driver.keys.queue(queue).leases, id),
      ]);
      return ran !== null && ran === lease;
    },
    started: async () => (await redis.lrange(keys.started, 0, -1)).map(parseStarted),
    handled: () => redis.lrange(keys.handled, 0, -1),
    handledCount: () => redis.llen(keys.handled),
    killConnections: async (name) => {
      const list = (await redis.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string;
      const ids = list
        .split('\n')
        .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=', 2))))
        .filter((client) => client.name === name)
        .map((client) => String(client.id));
      for (const id of ids) await redis.call('CLIENT', 'KILL', 'ID', id);
      return ids.length;
    },
  };

  const cleanup = async () => {
    await Promise.all(
      workers.map(async (worker) => {
        await Promise.race([worker.crash(), sleep(5000)]);
      }),
    );
    await deleteKeys(redis, prefix);
    await driver.close();
    await redis.quit();
  };

  return { api, workers, cleanup };
}

export { until } from './until.js';
