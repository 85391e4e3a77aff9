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
    // the TTL goes along, so that a reader can tell the server time of the beat from the score
    const stored: StoredHeartbeat = { ...info, ttlMs };
    const [replaced] = await Promise.all([
      this.#redis.set(this.#workerKey(info.id), JSON.stringify(stored), 'PX', ttlMs, 'GET'),
      runScript(this.#redis, 'live_workers', [this.#keys.workerSet], [info.id, ttlMs]),
    ]);
    if (replaced === null) return undefined;
    const previous = parseWorkerInfo(replaced);
    return previous && otherWorker(previous, info) ? previous : undefined;
  }

  async removeWorker(id: string): Promise<void> {
    await Promise.all([this.#redis.del(this.#workerKey(id)), this.#redis.zrem(this.#keys.workerSet, id)]);
  }

  /**
   * The live workers, their `startedAt` and `heartbeatAt` on this process's clock: each beat's
   * time is read off the Redis server's clock (its score, less its TTL), and the worker's own
   * stamps are shifted by how far its clock was off then, so a worker or a reader whose clock
   * is minutes off still shows the right ages.
   */
  async workers(): Promise<WorkerInfo[]> {
    const [serverNow, ...scored] = await runScript<string[]>(
      this.#redis,
      'live_workers',
      [this.#keys.workerSet],
      ['', 0],
    );
    const readAt = Date.now();
    if (scored.length === 0) return [];
    const ids = scored.filter((_, index) => index % 2 === 0);
    const values = await this.#redis.mget(ids.map((id) => this.#workerKey(id)));
    // server time to this process's clock
    const shift = readAt - Number(serverNow);
    return values
      .flatMap((value, index) => {
        const info = value ? parseWorkerInfo(value) : undefined;
        if (!info) return [];
        const { ttlMs, ...fields } = info;
        const expiresAt = Number(scored[2 * index + 1]);
        // a heartbeat written before the TTL went along: the worker's own clock
        if (ttlMs === undefined || !Number.isFinite(expiresAt)) return [fields];
        const beatAt = expiresAt - ttlMs;
        const workerAhead = fields.heartbeatAt - beatAt;
        return [
          { ...fields, heartbeatAt: beatAt + shift, startedAt: fields.startedAt - workerAhead + shift },
        ];
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

/** A heartbeat as stored: the worker's info and the TTL it was written with. */
type StoredHeartbeat = WorkerInfo & { ttlMs?: number };

/** A stored heartbeat, or undefined when it is not one (written by hand, or damaged). */
function parseWorkerInfo(text: string): StoredHeartbeat | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (!isWorkerInfo(value)) return undefined;
    const { ttlMs } = value as StoredHeartbeat;
    return typeof ttlMs === 'number' && Number.isFinite(ttlMs) ? value : { ...value, ttlMs: undefined };
  } catch {
    return undefined;
  }
}
