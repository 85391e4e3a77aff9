/**
 * What operators look at, on Redis: live workers (heartbeats with an expiry) and queue
 * statistics (counts, completions in the last minute, oldest waiting job). Times are read off
 * the Redis server's clock, which the scripts stamp records with, not off this process's.
 */
import type { Redis } from 'ioredis';
import type { QueueStats, WorkerInfo } from '../../driver.js';
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

  async heartbeat(info: WorkerInfo, ttlMs: number): Promise<void> {
    // Two idempotent writes; the next heartbeat repairs either if one is lost. The set is
    // scored on the server's clock (a worker whose clock runs behind is still listed) and
    // pruned by every heartbeat (a killed worker's id does not stay in it for good).
    await Promise.all([
      this.#redis.set(this.#workerKey(info.id), JSON.stringify(info), 'PX', ttlMs),
      runScript(this.#redis, 'live_workers', [this.#keys.workerSet], [info.id, ttlMs]),
    ]);
  }

  async removeWorker(id: string): Promise<void> {
    await Promise.all([this.#redis.del(this.#workerKey(id)), this.#redis.zrem(this.#keys.workerSet, id)]);
  }

  async workers(): Promise<WorkerInfo[]> {
    const ids = await runScript<string[]>(this.#redis, 'live_workers', [this.#keys.workerSet], ['', 0]);
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => this.#workerKey(id)));
    return values
      .flatMap((value) => (value ? [JSON.parse(value) as WorkerInfo] : []))
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
