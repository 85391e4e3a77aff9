/**
 * In-process counterparts of Redis Pub/Sub, worker heartbeats and completion counters,
 * so the memory driver offers the same visibility (events, workers, stats).
 */
import { EventEmitter } from 'node:events';
import {
  type JobStreamEvent,
  otherWorker,
  type Unsubscribe,
  type WorkerIdentity,
  type WorkerInfo,
} from '../../driver.js';

export class MemoryMonitoring {
  readonly #bus = new EventEmitter().setMaxListeners(0);
  readonly #workers = new Map<string, { info: WorkerInfo; expiresAt: number }>();
  /** Completions per queue per 10-second bucket. */
  readonly #done = new Map<string, Map<number, number>>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  publishEvents(events: readonly JobStreamEvent[]): void {
    if (events.length === 0) return;
    const copies = structuredClone(events) as JobStreamEvent[];
    // Delivered on a later tick, like a message through Redis, never inside the caller.
    setImmediate(() => {
      for (const event of copies) this.#bus.emit('event', event);
    });
  }

  /** Whether anything listens on `channel` in this process. */
  listens(channel: 'event' | 'cancel'): boolean {
    return this.#bus.listenerCount(channel) > 0;
  }

  /**
   * Calls `listener` for each message on `channel`. As with Redis Pub/Sub, a listener that
   * throws loses that message only: an EventEmitter would stop at it, skipping the listeners
   * after it, and the throw, on a later tick, would end the process.
   */
  subscribe<A extends unknown[]>(
    channel: 'event' | 'cancel',
    listener: (...args: A) => void,
  ): Promise<Unsubscribe> {
    const handler = (...args: unknown[]): void => {
      try {
        listener(...(args as A));
      } catch {
        // dropped, as a Redis subscriber drops a message its listener threw on
      }
    };
    this.#bus.on(channel, handler);
    return Promise.resolve(async () => {
      this.#bus.off(channel, handler);
    });
  }

  cancelled(queue: string, id: string): void {
    setImmediate(() => this.#bus.emit('cancel', queue, id));
  }

  countCompleted(queue: string, count: number): void {
    if (count === 0) return;
    const buckets = this.#done.get(queue) ?? new Map<number, number>();
    this.#done.set(queue, buckets);
    const bucket = Math.floor(this.#now() / 10_000);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + count);
    for (const key of buckets.keys()) if (key < bucket - 12) buckets.delete(key);
  }

  completedLastMinute(queue: string): number {
    const bucket = Math.floor(this.#now() / 10_000);
    let total = 0;
    for (const [key, count] of this.#done.get(queue) ?? []) if (key > bucket - 7) total += count;
    return total;
  }

  /** Records a heartbeat; returns the live one it replaced when another worker wrote it. */
  heartbeat(info: WorkerInfo, ttlMs: number): WorkerInfo | undefined {
    const now = this.#now();
    const previous = this.#workers.get(info.id);
    this.#workers.set(info.id, { info: structuredClone(info), expiresAt: now + ttlMs });
    return previous && previous.expiresAt > now && otherWorker(previous.info, info)
      ? structuredClone(previous.info)
      : undefined;
  }

  /** Drops the heartbeat under `id`, unless `owner` is given and another worker wrote it. */
  removeWorker(id: string, owner?: WorkerIdentity): void {
    const entry = this.#workers.get(id);
    if (entry && owner && otherWorker(entry.info, owner)) return;
    this.#workers.delete(id);
  }

  workers(): WorkerInfo[] {
    const now = this.#now();
    for (const [id, entry] of this.#workers) if (entry.expiresAt <= now) this.#workers.delete(id);
    return [...this.#workers.values()]
      .map((entry) => structuredClone(entry.info))
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  close(): void {
    this.#bus.removeAllListeners();
  }
}
