/**
 * The in-memory queue driver: the zero-setup default when no Redis is configured, for
 * development, tests and single-process deployments. It keeps the `QueueDriver` contract
 * as the Redis driver does (same ordering, leases, retention, name checks and errors), but
 * jobs live in this process and are lost when it exits (`durable` is false).
 *
 * Each call runs to completion synchronously inside its promise, which is what makes
 * every state change atomic here; the clock is read once per call.
 */
import { randomUUID } from 'node:crypto';
import type { EventBatch } from '../../event_batch.js';
import type {
  Completion,
  ExtendOptions,
  FailedSelection,
  FailResult,
  Failure,
  JobEventListener,
  JobEventListenerError,
  JobEventListeners,
  JobRecord,
  JobStatus,
  Lease,
  LeaseState,
  NewJob,
  PushOutcome,
  ReleaseOptions,
  ReleaseOutcome,
  QueueCounts,
  QueueDriver,
  QueueStats,
  ReserveOptions,
  RetriedJob,
  RetryFailedOutcome,
  ReserveResult,
  RetentionSettings,
  Unsubscribe,
  WorkerIdentity,
  WorkerInfo,
} from '../../driver.js';
import { streamListener } from '../../job_events.js';
import { assertJobId, assertJobName, assertQueueName, assertWorkerName } from '../../names.js';
import { MemoryMonitoring } from './memory_monitoring.js';
import { jobNotFound, MemoryQueue } from './memory_queue.js';
import type { QueueLimits } from './queue_state.js';
import { WorkSignal } from './work_signal.js';

/** Options of {@link MemoryQueueDriver}. */
export interface MemoryQueueDriverOptions {
  /** How long finished records are kept; defaults to {@link defaultMemoryRetention}. */
  retention?: Partial<RetentionSettings>;
  /** Failed records kept per queue before the oldest are dropped (default 100,000, as Redis). */
  failedCount?: number;
  /** The clock, in epoch ms; tests pass a fake one to move time without sleeping. */
  now?: () => number;
}

/** Retention when none is given: the last 1000 records of each finished status, for 24 hours. */
export const defaultMemoryRetention: Readonly<RetentionSettings> = {
  completedCount: 1000,
  completedAgeMs: 24 * 60 * 60 * 1000,
};

/**
 * A {@link QueueDriver} that keeps every queue in this process's memory. Workers that
 * should share jobs must share one instance.
 *
 * @example
 * const driver = new MemoryQueueDriver({ retention: { completedCount: 100 } });
 * await driver.push([{ id: 'j1', name: 'SendEmailJob', queue: 'emails', payload: '{}', maxTries: 0, priority: 0 }]);
 * const { jobs } = await driver.reserve('emails', { count: 1, leaseMs: 30_000, worker: 'w1', defaultMaxTries: 3 });
 * await driver.complete(jobs.map((job) => ({ lease: job, result: 'null' })));
 */
export class MemoryQueueDriver implements QueueDriver {
  readonly kind = 'memory' as const;
  readonly durable = false;
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #signal = new WorkSignal();
  readonly #limits: QueueLimits;
  readonly #now: () => number;
  #closed = false;
  readonly #monitoring: MemoryMonitoring;

  constructor(options: MemoryQueueDriverOptions = {}) {
    this.#limits = {
      retention: { ...defaultMemoryRetention, ...options.retention },
      failedCount: options.failedCount ?? 100_000,
    };
    this.#now = options.now ?? Date.now;
    this.#monitoring = new MemoryMonitoring(this.#now);
  }

  async push(jobs: readonly NewJob[]): Promise<PushOutcome[]> {
    // Check every name first, so a bad one rejects the batch before anything is added.
    for (const job of jobs) {
      this.#checkJob(job.queue, job.id);
      assertJobName(job.name);
    }
    const now = this.#now();
    const outcomes = jobs.map((job) => this.#createdQueue(job.queue).push(job, now));
    for (const queue of new Set(jobs.map((job) => job.queue))) this.#wake(queue);
    return outcomes;
  }

  /**
   * The times it hands back for the caller to compare with `Date.now()` (a job's `expiresAt`,
   * `wakeAt`) are on this process's clock, as the Redis driver makes them from the time left:
   * a custom `now` need not agree with it.
   */
  async reserve(queue: string, options: ReserveOptions): Promise<ReserveResult> {
    const now = this.#now();
    const result = this.#queue(queue)?.reserve(options, randomUUID(), now);
    this.#wake(queue);
    if (!result) return { jobs: [], abandoned: [], expired: [], changed: [], wakeAt: null };
    const local = Date.now() - now;
    for (const job of result.jobs) if (job.expiresAt !== undefined) job.expiresAt += local;
    // none in the past, as reserve_jobs.lua counts the time left from 0
    const wakeAt = result.wakeAt === null ? null : Math.max(now, result.wakeAt) + local;
    return { ...result, wakeAt };
  }

  async extend(
    leases: readonly Lease[],
    leaseMs: number,
    options: ExtendOptions = {},
  ): Promise<LeaseState[]> {
    for (const lease of leases) assertQueueName(lease.queue);
    const now = this.#now();
    // a whole count, as the Redis driver's slice reads it: a fraction rounds down, none below one
    const started = Math.floor(options.started ?? 0);
    return leases.map(
      (lease, index) => this.#queue(lease.queue)?.extend(lease, leaseMs, now, index < started) ?? 'lost',
    );
  }

  async complete(completions: readonly Completion[]): Promise<boolean[]> {
    for (const { lease } of completions) assertQueueName(lease.queue);
    const now = this.#now();
    return completions.map(({ lease, result }) => {
      const done = this.#queue(lease.queue)?.complete(lease, result, now) ?? false;
      if (done) this.#monitoring.countCompleted(lease.queue, 1);
      return done;
    });
  }

  async fail(failure: Failure): Promise<FailResult> {
    const result = this.#queue(failure.lease.queue)?.fail(failure, this.#now()) ?? { outcome: 'lost' };
    this.#wake(failure.lease.queue);
    return result;
  }

  async release(leases: readonly Lease[], options: ReleaseOptions = {}): Promise<ReleaseOutcome[]> {
    for (const lease of leases) assertQueueName(lease.queue);
    const now = this.#now();
    const started = options.started ?? 0;
    const outcomes = leases.map(
      (lease, index) => this.#queue(lease.queue)?.release(lease, now, index < started) ?? 'lost',
    );
    for (const queue of new Set(leases.map((lease) => lease.queue))) this.#wake(queue);
    return outcomes;
  }

  /** Resolves at once after `close()` or for no queues, so a worker loop never hangs here. */
  async waitForWork(queues: readonly string[], timeoutMs: number): Promise<void> {
    for (const queue of queues) assertQueueName(queue);
    if (this.#closed) return;
    await this.#signal.wait(queues, timeoutMs);
  }

  interrupt(): void {
    this.#signal.interrupt();
  }

  async counts(queue: string): Promise<QueueCounts> {
    const counts = this.#queue(queue)?.counts();
    return counts ?? { waiting: 0, delayed: 0, running: 0, pending: 0, failed: 0, completed: 0 };
  }

  /** Sorted, as the Redis driver returns them. */
  async queues(): Promise<string[]> {
    return [...this.#queues.keys()].sort();
  }

  async clear(queue: string): Promise<number> {
    return this.#queue(queue)?.clear() ?? 0;
  }

  async getJob(queue: string, id: string): Promise<JobRecord | undefined> {
    this.#checkJob(queue, id);
    return this.#queue(queue)?.get(id);
  }

  async listJobs(queue: string, status: JobStatus, offset: number, limit: number): Promise<JobRecord[]> {
    return this.#queue(queue)?.list(status, offset, limit) ?? [];
  }

  async progress(
    lease: Lease,
    percent: number,
    message: string | null,
    data?: string | null,
  ): Promise<boolean> {
    this.#checkJob(lease.queue, lease.id);
    return this.#queue(lease.queue)?.progress(lease, percent, message, data ?? null) ?? false;
  }

  async cancel(queue: string, id: string): Promise<JobStatus> {
    const status = this.#queueHolding(queue, id).cancel(id, this.#now());
    if (status === 'running') this.#monitoring.cancelled(queue, id);
    return status;
  }

  async now(): Promise<number> {
    return this.#now();
  }

  async stats(queue: string): Promise<QueueStats> {
    const counts = await this.counts(queue);
    const now = this.#now();
    const since = this.#queue(queue)?.waitingSince(now) ?? null;
    return {
      queue,
      ...counts,
      completedLastMinute: this.#monitoring.completedLastMinute(queue),
      oldestWaitingMs: since === null ? 0 : Math.max(0, now - since),
    };
  }

  publishEvents(batch: EventBatch): void {
    this.#monitoring.publishEvents(batch.toStreamEvents());
  }

  hasEventListeners(): boolean {
    return this.#monitoring.listens('event');
  }

  /** Events go out on a later tick (setImmediate): those published so far, before this resolves. */
  eventsDelivered(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  subscribeEvents(
    listener: JobEventListener | JobEventListeners,
    onError?: JobEventListenerError,
  ): Promise<Unsubscribe> {
    // guarded here as well, for onError and for async listeners that reject
    return this.#monitoring.subscribe('event', streamListener(listener, onError));
  }

  subscribeCancels(listener: (queue: string, id: string) => void): Promise<Unsubscribe> {
    return this.#monitoring.subscribe('cancel', listener);
  }

  /** Throws `E_INVALID_WORKER_NAME` for a name the Redis driver could not store either. */
  async heartbeat(info: WorkerInfo, ttlMs: number): Promise<WorkerInfo | undefined> {
    assertWorkerName(info.id);
    return this.#monitoring.heartbeat(info, ttlMs);
  }

  async removeWorker(id: string, owner?: WorkerIdentity): Promise<void> {
    assertWorkerName(id);
    this.#monitoring.removeWorker(id, owner);
  }

  async workers(): Promise<WorkerInfo[]> {
    return this.#monitoring.workers();
  }

  async releaseHeld(queue: string, id: string): Promise<JobStatus> {
    const status = this.#queueHolding(queue, id).releaseHeld(id, this.#now());
    this.#wake(queue);
    return status;
  }

  async listFailed(queue: string, offset: number, limit: number): Promise<JobRecord[]> {
    return this.listJobs(queue, 'failed', offset, limit);
  }

  async retryFailed(
    queue: string,
    selection: FailedSelection,
    onMoved?: (moved: readonly RetriedJob[]) => void,
  ): Promise<RetryFailedOutcome> {
    const found = this.#queue(queue);
    if (!found)
      return { retried: 0, expired: [], missing: 'ids' in selection ? [...new Set(selection.ids)] : [] };
    const { moved, expired, missing } = found.retryFailed(selection, this.#now());
    if (moved.length > 0) onMoved?.(moved);
    this.#wake(queue);
    return { retried: moved.length, expired, missing };
  }

  async removeFailed(queue: string, selection: FailedSelection): Promise<number> {
    return this.#queue(queue)?.removeFailed(selection) ?? 0;
  }

  /** Wakes every waiting worker. Records stay readable; nothing outlives the process anyway. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#signal.interrupt();
    this.#monitoring.close();
  }

  /** Throws `E_INVALID_QUEUE_NAME` / `E_INVALID_JOB_ID` as the Redis driver does. */
  #checkJob(queue: string, id: string): void {
    assertQueueName(queue);
    assertJobId(id);
  }

  /** The queue named `name` once something was pushed to it, after checking the name. */
  #queue(name: string): MemoryQueue | undefined {
    assertQueueName(name);
    return this.#queues.get(name);
  }

  /** The queue named `name`, created on first push. */
  #createdQueue(name: string): MemoryQueue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new MemoryQueue(name, this.#limits);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Sends the one wake-up that the last call on `queue` asked for, if any. */
  #wake(queue: string): void {
    if (this.#queues.get(queue)?.takeWakeUp()) this.#signal.notify(queue);
  }

  /** The queue for an operation on job `id`; a queue never pushed to holds no job at all. */
  #queueHolding(name: string, id: string): MemoryQueue {
    this.#checkJob(name, id);
    const queue = this.#queues.get(name);
    if (!queue) throw jobNotFound(name, id);
    return queue;
  }
}
