/**
 * What operators look at, on Redis: live workers (heartbeats with an expiry) and queue
 * statistics (counts, completions in the last minute, oldest waiting job). Times are read off
 * the Redis server's clock, which the scripts stamp records with, not off this process's.
 */
import type { Redis } from 'ioredis';
import {
  isWorkerInfo,
  otherWorker,
  type QueueStats,
  type WorkerIdentity,
  type WorkerInfo,
} from '../../driver.js';
import { assertWorkerName, isSafeId } from '../../names.js';
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
    // the TTL goes along, so that a reader can tell the server time of the beat from what is left
    const stored: StoredHeartbeat = { ...info, ttlMs };
    const [replaced] = await Promise.all([
      this.#redis.set(this.#workerKey(info.id), JSON.stringify(stored), 'PX', ttlMs, 'GET'),
      runScript(this.#redis, 'live_workers', [this.#keys.workerSet], [info.id, ttlMs]),
    ]);
    if (replaced === null) return undefined;
    const previous = parseWorkerInfo(replaced);
    return previous && otherWorker(previous, info) ? previous : undefined;
  }

  /**
   * Drops the heartbeat under `id` and its entry in the set of live workers; given `owner`,
   * only while the stored heartbeat is that worker's (one key per script: the heartbeat and
   * the set may sit on different nodes of a cluster, so the set entry goes after).
   */
  async removeWorker(id: string, owner?: WorkerIdentity): Promise<void> {
    const key = this.#workerKey(id);
    if (owner) {
      const removed = await runScript<number>(
        this.#redis,
        'remove_worker',
        [key],
        [owner.host, owner.pid, owner.startedAt],
      );
      if (removed === 0) return;
      await this.#redis.zrem(this.#keys.workerSet, id);
      return;
    }
    await Promise.all([this.#redis.del(key), this.#redis.zrem(this.#keys.workerSet, id)]);
  }

  /**
   * The live workers, their `startedAt` and `heartbeatAt` on this process's clock: each beat's
   * time is read off the Redis server's clock (the server's time less what its record's TTL
   * has run down, read in one transaction with the record, so a beat landing meanwhile cannot
   * pair one beat's stamps with another's time), and the worker's own stamps are shifted by how
   * far its clock was off then, so a worker or a reader whose clock is minutes off still shows
   * the right ages.
   */
  async workers(): Promise<WorkerInfo[]> {
    const listed = await runScript<string[]>(this.#redis, 'live_workers', [this.#keys.workerSet], ['', 0]);
    // a member no worker can have (added by hand or by another program) is no worker: dropped
    // from the set, so that it cannot fail the listing of the live ones
    const ids = listed.filter((id) => isSafeId(id));
    const strays = listed.filter((id) => !isSafeId(id));
    // best effort: the listing does not fail for it (the next one tries again)
    if (strays.length > 0) await this.#redis.zrem(this.#keys.workerSet, ...strays).catch(() => 0);
    if (ids.length === 0) return [];
    const keys = ids.map((id) => this.#workerKey(id));
    const transaction = this.#redis.multi().time().mget(keys);
    for (const key of keys) transaction.pttl(key);
    const replies = (await transaction.exec()) ?? [];
    const readAt = Date.now();
    const [time, values, ...ttlsLeft] = replies.map(([error, reply]) => {
      if (error) throw error;
      return reply;
    }) as [[string, string], (string | null)[], ...number[]];
    const serverNow = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    // server time to this process's clock
    const shift = readAt - serverNow;
    return values
      .flatMap((value, index) => {
        const info = value ? parseWorkerInfo(value) : undefined;
        if (!info) return [];
        const { ttlMs, ...fields } = info;
        const left = ttlsLeft[index] ?? -2;
        // a heartbeat written before the TTL went along (the worker's own clock), or gone meanwhile
        if (ttlMs === undefined || left < 0) return [fields];
        const beatAt = serverNow - (ttlMs - left);
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
