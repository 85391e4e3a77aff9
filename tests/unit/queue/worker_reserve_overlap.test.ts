/**
 * The worker keeps further reserve calls in flight while its queue is busy, and only one
 * when the queue runs dry (an idle worker must not double its calls to Redis). How far it
 * reserves ahead follows how long jobs take against a reserve round trip.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, Job, JobRegistry, MemoryQueueDriver, Worker } from '../../../core/index.js';

const handled: number[] = [];

class CountJob extends Job<{ n: number }> {
  static override readonly jobName = 'CountJob';
  async handle({ n }: { n: number }): Promise<void> {
    handled.push(n);
  }
}

class SlowJob extends Job<{ n: number }> {
  static override readonly jobName = 'SlowJob';
  async handle({ n }: { n: number }): Promise<void> {
    // 300 ms: hundreds of reserve round trips even when a busy test process (the whole suite
    // runs in one) makes a memory reserve take a few ms by the clock
    await new Promise((resolve) => setTimeout(resolve, 300));
    handled.push(n);
  }
}

/** A memory driver whose reserve answers after `delayMs`, counting calls in flight. */
function slowDriver(delayMs: number) {
  const driver = new MemoryQueueDriver();
  const stats = { inFlight: 0, maxInFlight: 0, calls: 0 };
  const reserve = driver.reserve.bind(driver);
  driver.reserve = async (queue, options) => {
    stats.calls++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return await reserve(queue, options);
    } finally {
      stats.inFlight--;
    }
  };
  return { driver, stats };
}

describe('worker reserve calls', () => {
  const drivers: MemoryQueueDriver[] = [];
  afterEach(async () => {
    handled.length = 0;
    for (const driver of drivers.splice(0)) await driver.close();
  });

  it('overlaps reserve calls while the queue is busy, at most three, and runs every job once', async () => {
    const { driver, stats } = slowDriver(10);
    drivers.push(driver);
    const dispatcher = new Dispatcher(driver, new JobRegistry().register(CountJob));
    await dispatcher.dispatchMany(
      Array.from({ length: 400 }, (_, n) => ({ job: CountJob, payload: { n }, options: { queue: 'q' } })),
    );
    const worker = new Worker({
      driver,
      registry: new JobRegistry().register(CountJob),
      queues: ['q'],
      concurrency: 10,
      stopWhenEmpty: true,
    });
    expect(await worker.run()).toBe('empty');
    expect(stats.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(stats.maxInFlight).toBeLessThanOrEqual(3);
    expect(handled.sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, n) => n));
  });

  it('makes one reserve call at a time on an empty queue', async () => {
    const { driver, stats } = slowDriver(5);
    drivers.push(driver);
    const worker = new Worker({
      driver,
      registry: new JobRegistry().register(CountJob),
      queues: ['q'],
      concurrency: 10,
      sleep: 0.02,
    });
    const run = worker.run();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await worker.shutdown();
    await run;
    expect(stats.calls).toBeGreaterThan(3);
    expect(stats.maxInFlight).toBe(1);
  });

  it('reserves nothing ahead when jobs take much longer than a reserve call', async () => {
    const driver = new MemoryQueueDriver();
    drivers.push(driver);
    const registry = new JobRegistry().register(SlowJob);
    await new Dispatcher(driver, registry).dispatchMany(
      Array.from({ length: 60 }, (_, n) => ({ job: SlowJob, payload: { n }, options: { queue: 'q' } })),
    );
    const worker = new Worker({ driver, registry, queues: ['q'], concurrency: 4 });
    const run = worker.run();
    // the worker holds its 4 running jobs and none more: before a job is timed it holds none
    // ahead, and after, these jobs take hundreds of reserve round trips
    await new Promise((resolve) => setTimeout(resolve, 450));
    const held: number[] = [];
    for (let i = 0; i < 10; i++) {
      held.push((await driver.counts('q')).running);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await worker.shutdown();
    await run;
    // a completion is stored a moment after its slot frees, so a sample may catch the next job
    // reserved while the last one still counts as running (5); holding one ahead makes most 5
    expect(held.filter((count) => count > 4).length).toBeLessThanOrEqual(2);
    expect(Math.max(...held)).toBeLessThanOrEqual(5);
  });
});
