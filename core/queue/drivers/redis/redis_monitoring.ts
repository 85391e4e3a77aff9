/**
 * What operators look at, on Redis: live workers (heartbeats with an expiry) and queue
 * statistics (counts, completions in the last minute, oldest waiting job).
 */
import type { Redis } from 'ioredis';
import { InvalidOptionError } from '../../../errors.js';
import type { QueueStats, WorkerInfo } from '../../driver.js';
import type { KeyBuilder } from './keys.js';

const WORKER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

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
    if (!WORKER_ID.test(id)) {
      throw new InvalidOptionError(`worker name ${JSON.stringify(id)} must be 1-128 of A-Z a-z 0-9 _ . : -`);
    }
    return `${this.#prefix}:worker:${id}`;
  }

  async heartbeat(info: WorkerInfo, ttlMs: number): Promise<void> {
    // Two idempotent writes; the next heartbeat repairs either if one is lost.
    await Promise.all([
      this.#redis.set(this.#workerKey(info.id), JSON.stringify(info), 'PX', ttlMs),
      this.#redis.zadd(this.#keys.workerSet, Date.now() + ttlMs, info.id),
    ]);
  }

  async removeWorker(id: string): Promise<void> {
    await Promise.all([this.#redis.del(this.#workerKey(id)), this.#redis.zrem(this.#keys.workerSet, id)]);
  }

  async workers(): Promise<WorkerInfo[]> {
    await this.#redis.zremrangebyscore(this.#keys.workerSet, '-inf', Date.now());
    const ids = await this.#redis.zrange(this.#keys.workerSet, 0, -1);
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => this.#workerKey(id)));
    return values
      .flatMap((value) => (value ? [JSON.parse(value) as WorkerInfo] : []))
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  async stats(queue: string, counts: Omit<QueueStats, 'queue' | 'completedLastMinute' | 'oldestWaitingMs'>) {
    const keys = this.#keys.queue(queue);
    const bucket = Math.floor(Date.now() / 10_000);
    // The six full buckets before this one plus the current partial one: 60-70 s.
    const buckets = Array.from({ length: 6 }, (_, index) => `${keys.doneBucket}${bucket - index}`);
    const [done, nextIds] = await Promise.all([
      this.#redis.mget(buckets),
      this.#redis.zrange(keys.wait, 0, 99),
    ]);
    const queuedAt =
      nextIds.length === 0
        ? []
        : await Promise.all(nextIds.map((id) => this.#redis.hget(`${keys.job}${id}`, 'queuedAt')));
    const oldest = queuedAt.reduce<number>(
      (min, value) => (value ? Math.min(min, Number(value)) : min),
      Infinity,
    );
    return {
      queue,
      ...counts,
      completedLastMinute: done.reduce((sum, value) => sum + Number(value ?? 0), 0),
      oldestWaitingMs: Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) : 0,
    };
  }
}
