/**
 * A per-second timeline of one end-to-end run, to show where a backlog builds: messages
 * the broker acknowledged to the devices, taken by the ingest (the difference waits in
 * Mosquitto, which drops past its per-client queue), jobs waiting in Redis, and
 * `handle()` calls. Sampled by the parent from counters it already has, the ingest's
 * `tick` reports, and one Redis read per queue and second.
 */
import type { Redis } from 'ioredis';
import type { BenchChild } from './e2e_child.js';
import type { DeviceFleet } from './e2e_devices.js';
import { readHandledCount } from './e2e_recorder.js';

/** Counters at one moment, cumulative since the start of publishing. */
export interface TimelinePoint {
  second: number;
  acknowledged: number;
  received: number;
  waiting: number;
  handled: number;
}

export interface TimelineSources {
  redis: Redis;
  fleet: DeviceFleet;
  app: BenchChild;
  recordKey: string;
  /** `handle()` calls before the measurement (warm-up), subtracted. */
  handledBefore: number;
  /** Reads how many jobs wait in the queue. */
  waiting: (redis: Redis) => Promise<number>;
}

/** Samples every `everyMs` until `stop()`, which resolves to the points. */
export function startTimeline(
  sources: TimelineSources,
  everyMs = 1000,
): { receivedBefore: number; stop(): Promise<TimelinePoint[]> } {
  const points: TimelinePoint[] = [];
  const received = (): number => Number(sources.app.lastTick?.received ?? 0);
  const receivedBefore = received();
  const started = performance.now();
  let sampling: Promise<void> = Promise.resolve();
  const sample = async (): Promise<void> => {
    const [waiting, handled] = await Promise.all([
      sources.waiting(sources.redis),
      readHandledCount(sources.redis, sources.recordKey),
    ]);
    points.push({
      second: Math.round((performance.now() - started) / 100) / 10,
      acknowledged: sources.fleet.acknowledged,
      received: received() - receivedBefore,
      waiting,
      handled: handled - sources.handledBefore,
    });
  };
  // A failed sample (Redis hiccup) leaves a gap in the timeline; it must not end the bench.
  const sampleQuietly = (): Promise<void> => sample().catch(() => undefined);
  const timer = setInterval(() => {
    sampling = sampling.then(sampleQuietly);
  }, everyMs);
  return {
    receivedBefore,
    async stop() {
      clearInterval(timer);
      await sampling;
      await sampleQuietly();
      return points;
    },
  };
}
