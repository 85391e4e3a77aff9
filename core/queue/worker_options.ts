/**
 * The options of a {@link Worker} (the flags of `queue:work` map onto them), why its `run()`
 * returned, and the check of the options a worker is built with.
 */
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { QueueDriver } from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { MAX_LEASE_MS } from './lease_bounds.js';
import { assertQueueName, assertWorkerName } from './names.js';
import type { JobRegistry } from './registry.js';
import { isPrefetch, MAX_PREFETCH } from './reserve_ahead.js';
import { assertRetryPolicy, type RetryPolicy } from './retry_policy.js';

/** The most jobs one worker runs at once: past it, run more workers. */
export const MAX_CONCURRENCY = 10_000;

/** Options of a {@link Worker}; the CLI flags of `queue:work` map onto these. */
export interface WorkerOptions {
  driver: QueueDriver;
  registry: JobRegistry;
  /** Queues in strict priority order: a later queue is served only when earlier ones are empty. */
  queues: string[];
  /** Jobs run at once (default 1), at most {@link MAX_CONCURRENCY}. */
  concurrency?: number;
  /** Tries for jobs that set no `maxTries` (default {@link DEFAULT_TRIES}, 3). */
  tries?: number;
  /** Seconds an attempt may run, for jobs that set no `timeout` (default 60). */
  timeout?: number;
  /** Retry delay for jobs that set no `retryAfter` (default 0). */
  backoff?: RetryPolicy;
  /** Longest an idle worker blocks before looking again, in seconds (default 3). */
  sleep?: number;
  /** Run one job (or none) and stop. */
  once?: boolean;
  /** Stop when the queues have no ready job. */
  stopWhenEmpty?: boolean;
  /** Stop after this many jobs. */
  maxJobs?: number;
  /** Stop after this many seconds. */
  maxTime?: number;
  /** Stop when the process's resident memory exceeds this many MB. */
  memory?: number;
  /**
   * Name shown in records, logs and `queue:workers` (default host:pid:random): 1-128 of
   * `A-Z a-z 0-9 _ . : -` starting with a letter or digit, else `E_INVALID_WORKER_NAME`.
   */
  name?: string;
  /** Lease length in ms (default 30,000, at most {@link MAX_LEASE_MS}); renewed every third of it while a job runs. */
  leaseMs?: number;
  /** On stop, how long running jobs may finish before they are released, in ms (default 10,000). */
  shutdownGraceMs?: number;
  /** Minimum ms between two progress writes of one job (default 1,000). */
  progressIntervalMs?: number;
  /**
   * Jobs held reserved ahead of the free slots, 0 to 10,000. By default the worker decides from
   * how long jobs and reserve calls take: up to three per slot for short jobs, none for jobs
   * over about 100 reserve round trips and none before a job has been timed. A fixed number
   * suits special cases: 0 so that a job arriving on an earlier queue of `queues` never waits
   * behind jobs reserved from a later one.
   */
  prefetch?: number;
  /** Ms between heartbeats (default 5,000); a worker is listed until 3 are missed. */
  heartbeatMs?: number;
  /** Publishes job status changes; none when absent. */
  events?: JobEventPublisher;
  log?: Logger;
}

/** Why `run()` returned. */
export type WorkerStopReason = 'stopped' | 'empty' | 'once' | 'max-jobs' | 'max-time' | 'memory';

/** Throws for options a worker cannot run with: `InvalidOptionError`, or a name check's error. */
export function validateWorkerOptions(options: WorkerOptions): void {
  if (options.queues.length === 0) throw new InvalidOptionError('a worker needs at least one queue');
  for (const queue of options.queues) assertQueueName(queue);
  if (options.name !== undefined) assertWorkerName(options.name);
  const positiveInt = (value: number | undefined, label: string) => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new InvalidOptionError(`${label} must be a whole number >= 1; got ${value}`);
    }
  };
  const positive = (value: number | undefined, label: string) => {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      throw new InvalidOptionError(`${label} must be a number > 0; got ${value}`);
    }
  };
  positiveInt(options.concurrency, 'concurrency');
  if (options.concurrency !== undefined && options.concurrency > MAX_CONCURRENCY) {
    throw new InvalidOptionError(
      `concurrency must be at most ${MAX_CONCURRENCY} jobs at once in one worker (run more workers for more); got ${options.concurrency}`,
    );
  }
  positiveInt(options.tries, 'tries');
  positiveInt(options.maxJobs, 'maxJobs');
  positive(options.timeout, 'timeout');
  positive(options.sleep, 'sleep');
  positive(options.maxTime, 'maxTime');
  positive(options.memory, 'memory');
  positive(options.leaseMs, 'leaseMs');
  if (options.leaseMs !== undefined && options.leaseMs > MAX_LEASE_MS) {
    throw new InvalidOptionError(
      `leaseMs must be at most ${MAX_LEASE_MS} (about 24.8 days, Node's longest timer); got ${options.leaseMs}`,
    );
  }
  if (options.backoff !== undefined) assertRetryPolicy(options.backoff, 'backoff');
  const { prefetch } = options;
  if (prefetch !== undefined && !isPrefetch(prefetch)) {
    throw new InvalidOptionError(
      `prefetch must be a whole number from 0 to ${MAX_PREFETCH}, or left out so the worker decides; got ${prefetch}`,
    );
  }
}
