/**
 * Shared set-up for the memory driver's unit tests: a driver on a clock the test moves
 * by hand, and a job factory with sensible defaults.
 */
import {
  MemoryQueueDriver,
  type MemoryQueueDriverOptions,
} from '../../../../../core/queue/drivers/memory/index.js';
import type { Lease, NewJob, ReserveOptions } from '../../../../../core/queue/driver.js';

/** A driver whose clock only moves when the test says so. */
export interface ClockedDriver {
  driver: MemoryQueueDriver;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /** The current time of the clock. */
  now(): number;
}

export const START = 1_700_000_000_000;

export function clockedDriver(retention?: MemoryQueueDriverOptions['retention']): ClockedDriver {
  let time = START;
  const driver = new MemoryQueueDriver({ retention, now: () => time });
  return {
    driver,
    advance: (ms) => {
      time += ms;
    },
    now: () => time,
  };
}

export function newJob(id: string, overrides: Partial<NewJob> = {}): NewJob {
  return {
    id,
    name: 'TestJob',
    queue: 'q',
    payload: JSON.stringify({ id }),
    maxTries: 3,
    priority: 0,
    ...overrides,
  };
}

export function reserveOptions(overrides: Partial<ReserveOptions> = {}): ReserveOptions {
  return { count: 1, leaseMs: 1_000, worker: 'w1', defaultMaxTries: 3, ...overrides };
}

/** The lease of a reserved job. */
export function leaseOf(job: { id: string; queue: string; token: string }): Lease {
  return { id: job.id, queue: job.queue, token: job.token };
}
