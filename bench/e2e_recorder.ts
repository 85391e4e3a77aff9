/**
 * Records what reached a job's `handle()` in the bench's worker process. Per message it
 * does only in-memory work: a per-device bitset of sequence numbers (distinct messages
 * and duplicates), the publish-to-handle latency, and a per-device count buffered for
 * Redis (warm-up messages, with negative sequence numbers, are only counted). Every 50 ms one pipeline of HINCRBYs adds the buffered counts to a hash the
 * parent polls to see when the pipeline has drained; the exact figures go to the parent
 * once, at the end.
 */
import type { Redis } from 'ioredis';
import { type E2eReading, preciseNow } from './e2e_telemetry_job.js';

/** What the worker process reports at the end. */
export interface RecorderSummary {
  /** Every call of `handle()` for a measured message, duplicates included. */
  handled: number;
  /** Warm-up messages handled (negative sequence numbers), not counted anywhere else. */
  warmup: number;
  /** Distinct (device, seq) pairs handled. */
  distinct: number;
  duplicates: number;
  /** Distinct messages per device id. */
  perDevice: Record<string, number>;
  /** Epoch ms of the first and last `handle()`, or 0 when none ran. */
  firstAt: number;
  lastAt: number;
  /** Publish-to-handle latency of each message's first handling, in ms. */
  latency: LatencySummary;
  /** The same split at the ingest: publish to ingest (broker), and ingest to handle (queue). */
  toIngest: LatencySummary;
  toHandle: LatencySummary;
  /** Per 100 ms the messages were published in (key: epoch ms / 100): how many, the slowest, how many took over 50 ms. */
  byTenth: Record<string, LatencyBucket>;
}

export interface LatencyBucket {
  count: number;
  maxMs: number;
  over50: number;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** A growable list of latency samples. */
class Samples {
  #values = new Float64Array(1 << 16);
  #count = 0;

  add(value: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = value;
  }

  summary(): LatencySummary {
    const sorted = this.#values.slice(0, this.#count).sort();
    const n = sorted.length;
    const at = (q: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(q * n))]!);
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: n === 0 ? 0 : sorted[n - 1]!,
      mean: n === 0 ? 0 : sum / n,
    };
  }
}

interface DeviceRecord {
  seen: Uint8Array;
  distinct: number;
  unflushed: number;
}

export class HandledRecorder {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #devices = new Map<string, DeviceRecord>();
  readonly #latency = new Samples();
  readonly #toIngest = new Samples();
  readonly #toHandle = new Samples();
  readonly #byTenth = new Map<number, LatencyBucket>();
  #handled = 0;
  #warmup = 0;
  #duplicates = 0;
  #firstAt = 0;
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /** `key` is the Redis hash that receives per-device counts. */
  constructor(redis: Redis, key: string, flushEveryMs = 50) {
    this.#redis = redis;
    this.#key = key;
    this.#timer = setInterval(() => this.#flush(), flushEveryMs);
  }

  /** Called at the start of `handle()`. */
  record(reading: E2eReading): void {
    const now = preciseNow();
    if (reading.seq < 0) {
      this.#warmup++;
      this.#device(reading.deviceId).unflushed++;
      return;
    }
    if (this.#firstAt === 0) this.#firstAt = now;
    this.#lastAt = now;
    this.#handled++;
    const device = this.#device(reading.deviceId);
    device.unflushed++;
    if (reading.seq >= device.seen.length) {
      const grown = new Uint8Array(Math.max(device.seen.length * 2, reading.seq + 1));
      grown.set(device.seen);
      device.seen = grown;
    }
    if (device.seen[reading.seq] === 1) {
      this.#duplicates++;
      return;
    }
    device.seen[reading.seq] = 1;
    device.distinct++;
    const latency = now - reading.sentAt;
    this.#latency.add(latency);
    const tenth = Math.floor(reading.sentAt / 100);
    let bucket = this.#byTenth.get(tenth);
    if (!bucket) {
      bucket = { count: 0, maxMs: 0, over50: 0 };
      this.#byTenth.set(tenth, bucket);
    }
    bucket.count++;
    if (latency > bucket.maxMs) bucket.maxMs = latency;
    if (latency > 50) bucket.over50++;
    this.#toIngest.add(reading.receivedAt - reading.sentAt);
    this.#toHandle.add(now - reading.receivedAt);
  }

  #device(id: string): DeviceRecord {
    let device = this.#devices.get(id);
    if (!device) {
      device = { seen: new Uint8Array(4096), distinct: 0, unflushed: 0 };
      this.#devices.set(id, device);
    }
    return device;
  }

  /** Stops the timer and writes the last counts. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#flush();
    await this.#flushing;
  }

  summary(): RecorderSummary {
    const perDevice: Record<string, number> = {};
    let distinct = 0;
    for (const [id, device] of this.#devices) {
      perDevice[id] = device.distinct;
      distinct += device.distinct;
    }
    return {
      handled: this.#handled,
      warmup: this.#warmup,
      distinct,
      duplicates: this.#duplicates,
      perDevice,
      firstAt: this.#firstAt,
      lastAt: this.#lastAt,
      latency: this.#latency.summary(),
      toIngest: this.#toIngest.summary(),
      toHandle: this.#toHandle.summary(),
      byTenth: Object.fromEntries(this.#byTenth),
    };
  }

  #flush(): void {
    const pipeline = this.#redis.pipeline();
    let commands = 0;
    for (const [id, device] of this.#devices) {
      if (device.unflushed === 0) continue;
      pipeline.hincrby(this.#key, id, device.unflushed);
      device.unflushed = 0;
      commands++;
    }
    if (commands === 0) return;
    // One flush at a time, in order; a failed flush is reported, the end summary stays exact.
    this.#flushing = this.#flushing.then(() =>
      pipeline.exec().then(
        () => undefined,
        (error: unknown) => console.error('e2e recorder: HINCRBY flush failed:', error),
      ),
    );
  }
}

/** Sum of the per-device counts in the recorder's hash: every `handle()` call so far. */
export async function readHandledCount(redis: Redis, key: string): Promise<number> {
  const values = await redis.hvals(key);
  let total = 0;
  for (const value of values) total += Number(value);
  return total;
}
