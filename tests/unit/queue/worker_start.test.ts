/**
 * A starting worker waits for its first heartbeat and its cancel listener, which a store that
 * answers nothing never settles: a stop, even one asked for before it ran, cuts both waits
 * short, and what fails after the stop (the store closing under them) is not logged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JobRegistry, MemoryQueueDriver, Worker } from '../../../core/index.js';
import type { Unsubscribe, WorkerInfo } from '../../../core/queue/driver.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { EchoJob } from '../../support/test_jobs.js';

/** A memory driver whose heartbeats and cancel subscriptions wait until `hangUp()` rejects them. */
class SilentStartDriver extends MemoryQueueDriver {
  readonly #waiting: ((error: Error) => void)[] = [];
  override heartbeat(_info: WorkerInfo, _ttlMs: number): Promise<WorkerInfo | undefined> {
    return new Promise((_resolve, reject) => this.#waiting.push(reject));
  }
  override subscribeCancels(): Promise<Unsubscribe> {
    return new Promise((_resolve, reject) => this.#waiting.push(reject));
  }
  hangUp(): void {
    for (const reject of this.#waiting.splice(0)) reject(new Error('the connection was closed'));
  }
}

const drivers: SilentStartDriver[] = [];
afterEach(() => {
  for (const driver of drivers.splice(0)) driver.hangUp();
});

describe('a starting worker whose store answers nothing', () => {
  it.each([
    ['asked before it runs', true],
    ['asked as it starts', false],
  ])('stops at once when the stop is %s, and logs no failure after it', async (_when, before) => {
    const driver = new SilentStartDriver();
    drivers.push(driver);
    const log = capturingLogger('warn');
    const worker = new Worker({
      driver,
      registry: new JobRegistry().register(EchoJob),
      queues: ['silent'],
      shutdownGraceMs: 100,
      log: log.logger,
    });
    if (before) worker.stop();
    const started = performance.now();
    const running = worker.run();
    if (!before) setTimeout(() => worker.stop(), 50);
    await running;
    expect(performance.now() - started).toBeLessThan(2_000);
    driver.hangUp(); // the store closes under what it never answered
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.events('worker.heartbeat_failed')).toEqual([]);
    expect(log.events('worker.cancel_listen_failed')).toEqual([]);
  });
});
