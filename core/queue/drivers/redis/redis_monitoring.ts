/**
 * What operators look at, on Redis: live workers (heartbeats with an expiry) and queue
 * statistics (counts, completions in the last minute, oldest waiting job). Times are read off
 * the Redis server's clock, which the scripts stamp records with, not off this process's.
 */
import type { Redis } from 'ioredis';
import { isWorkerInfo, otherWorker, type QueueStats, type WorkerInfo } from '../../driver.js';
import { assertWorkerName } from '../../names.js';
import type { KeyBuilder } from './keys.js';
import { runScript } from './scripts.js';

export class RedisMonitoring {
  readonly #redis: Redis;
  readonly #keys: KeyBuilder;
  readonly #prefix: string;

  constructor(redis: Redis, keys: KeyBuilder, prefix: string) {
    this.#redis = redis;
    this.#keys = keys;
    this.#prefix = prefix;
  }

  #workerKey(id: string): string {
    assertWorkerName(id);
    return `${this.#prefix}:worker:${id}`;
  }

  async heartbeat(info: WorkerInfo, ttlMs: number): Promise<WorkerInfo | undefined> {
    // Two idempotent writes; the next heartbeat repairs either if one is lost. The set is
    // scored on the server's clock (a worker whose clock runs behind is still listed) and
    // pruned by every heartbeat (a killed worker's id does not stay in it for good).
    const [replaced] = await Promise.all([
      this.#redis.set(this.#workerKey(info.id), JSON.stringify(info), 'PX', ttlMs, 'GET'),
      runScript(this.#redis, 'live_workers', [this.#keys.workerSet], [info.id, ttlMs]),
    ]);
    if (replaced === null) return undefined;
    const previous = parseWorkerInfo(replaced);
    return previous && otherWorker(previous, info) ? previous : undefined;
  }

  async removeWorker(id: string): Promise<void> {
    await Promise.all([this.#redis.del(this.#workerKey(id)), this.#redis.zrem(this.#keys.workerSet, id)]);
  }

  async workers(): Promise<WorkerInfo[]> {
    const ids = await runScript<string[]>(this.#redis, 'live_workers', [this.#keys.workerSet], ['', 0]);
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => this.#workerKey(id)));
    return values
      .flatMap((value) => {
        const info = value ? parseWorkerInfo(value) : undefined;
        return info ? [info] : [];
      })
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  async stats(queue: string): Promise<Pick<QueueStats, 'completedLastMinute' | 'oldestWaitingMs'>> {
    const keys = this.#keys.queue(queue);
    const [completedLastMinute, oldestWaitingMs] = await runScript<[number, number]>(
      this.#redis,
      'queue_stats',
      [keys.wait, keys.delayed],
      [keys.job, keys.doneBucket],
    );
    return { completedLastMinute, oldestWaitingMs };
  }
}

/** A stored heartbeat, or undefined when it is not one (written by hand, or damaged). */
function parseWorkerInfo(text: string): WorkerInfo | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isWorkerInfo(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
