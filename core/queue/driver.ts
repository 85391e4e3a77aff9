/**
 * The seam between the queue logic (dispatcher, worker, failed-jobs store) and storage.
 * Two implementations pass one contract suite (`tests/integration/queue/driver_contract.ts`):
 * `redis` for production and `memory`, the zero-setup default, with the same semantics.
 *
 * Semantics every driver keeps:
 * - `reserve` moves up to `count` ready jobs of one queue to running under a lease that
 *   ends `leaseMs` from now, tagged with a fresh token. Order: lowest priority number
 *   first, FIFO among equals. Due delayed jobs are promoted first, at most 1,000 per call in
 *   the order they came due (ties by id; the rest go in the next calls), each queued as of its
 *   run-at time, when it became ready to run; running jobs whose lease has ended (a crashed
 *   worker) are reclaimed: back to the queue, or to failed
 *   with `E_LEASE_EXPIRED` when their tries are used up. Reserving counts an attempt, which
 *   a reclaim gives back when the job was never known to start under that lease (see
 *   {@link MAX_STALLS}); `extend` (and `progress`) tell the driver a job has started.
 *   Jobs whose `expiresAt` has passed are marked `expired` and never returned.
 * - `complete`, `fail`, `release`, `extend` and `progress` act only while the caller's
 *   token still owns the job; otherwise they report the lease as lost and change nothing.
 * - Records of finished jobs (completed, failed, cancelled, expired) are kept within the
 *   driver's retention bounds; failed records stay until retried, forgotten or pruned.
 */
import type { EventBatch } from './event_batch.js';
import type { JobEventListener, JobEventListenerError, JobEventListeners } from './job_event_types.js';
import type {
  FailedSelection,
  JobRecord,
  JobStatus,
  QueueCounts,
  QueueStats,
  StoredError,
} from './job_records.js';
import type { WorkerIdentity, WorkerInfo } from './worker_info.js';

// The types around the contract live in their own modules; every name stays importable from here.
export { isProgressEvent, streamEventLabel } from './job_event_types.js';
export type {
  JobEvent,
  JobEventListener,
  JobEventListenerError,
  JobEventListeners,
  JobProgressEvent,
  JobProgressListener,
  JobStreamEvent,
} from './job_event_types.js';
export { FINISHED_STATUSES, JOB_STATUSES } from './job_records.js';
export type {
  FailedSelection,
  JobRecord,
  JobStatus,
  QueueCounts,
  QueueStats,
  RetentionSettings,
  StoredError,
} from './job_records.js';
export { isWorkerInfo, otherWorker } from './worker_info.js';
export type { WorkerIdentity, WorkerInfo } from './worker_info.js';

/** A job as the dispatcher hands it to a driver. */
export interface NewJob {
  id: string;
  name: string;
  queue: string;
  /** The payload, already JSON-encoded and checked. */
  payload: string;
  /** Tries allowed; 0 means "the worker's --tries". */
  maxTries: number;
  /** Lower runs first; integer in [-1000, 1000]. */
  priority: number;
  /** Epoch ms before which the job must not run; 0 or absent for now. */
  runAt?: number;
  /**
   * Epoch ms after which a job that has not started is marked expired; 0 or absent for never
   * (the {@link Dispatcher} turns an `expiresAt` of 0 into 1, which has passed as surely).
   */
  expiresAt?: number;
  /** Create on hold (`pending`) until `releaseHeld`. */
  hold?: boolean;
  /** Who the job is for (checked by `assertOwner`). */
  owner?: string;
  /** What the job does, in words (checked by `assertDescription`). */
  description?: string;
  /**
   * Tells this push apart from any other push of the same id, so that the same push sent again
   * (its first try failed after writing some queues, or Redis stored it and the reply was lost)
   * is answered the status the job was added in, not `duplicate`. The {@link Dispatcher} gives
   * an id it generated as its own token (Redis then stores nothing more) and a random one to a
   * job with the caller's `jobId`. Absent: an existing id is always `duplicate`.
   */
  pushToken?: string;
}

/**
 * What `push` did with each job: the status it was added in, as the store's clock decided
 * (a `runAt` the dispatching process thought was ahead may be past on it), or `duplicate`
 * when a job with that id exists already, which is left as it is. A job that exists because
 * this same push (same `pushToken`) added it on an earlier try is answered the status it was
 * added in then, whatever its status now.
 */
export type PushOutcome = 'queued' | 'delayed' | 'pending' | 'duplicate';

/** A job handed to a worker by `reserve`. */
export interface ReservedJob {
  id: string;
  name: string;
  queue: string;
  payload: string;
  /** This attempt's number, 1-based. */
  attempt: number;
  maxTries: number;
  priority: number;
  createdAt: number;
  /**
   * When the job must not start any more, if it has an `expiresAt`: epoch ms of this
   * process's clock (the Redis driver sends the time left by the server's clock, which need
   * not agree). `reserve` checks it, and a worker checks it again when a job it reserved
   * ahead of a free slot starts.
   */
  expiresAt?: number;
  /** Proof of ownership for complete/fail/release/extend. */
  token: string;
}

/** Identifies one reservation of one job. */
export interface Lease {
  id: string;
  queue: string;
  token: string;
}

/**
 * How many times at least a job's attempt is given back when its lease ends (its worker died
 * or stopped renewing) before the job was known to start: this or the job's maxTries, whichever
 * is more. The next such end fails it with `E_LEASE_EXPIRED`. A worker reserves jobs ahead of
 * its free slots and reports the ones that started at each lease renewal
 * (`QueueDriver.extend`), so a worker killed with jobs in hand has not used their attempts:
 * with `maxTries: 1` they still run elsewhere (a worker also reports a job still running a
 * second after it started). The bound ends a job that kills its worker before that. Jobs reserved ahead alongside such a job share its fate each time;
 * since their bound is at least their maxTries, they end no sooner than when every such end
 * counted an attempt.
 */
export const MAX_STALLS = 3;

/**
 * Lapsed leases one `reserve` call reclaims at most, in the order they ended: a bound on the
 * work of one call (on Redis, one script run). Jobs handed back to the front of their priority
 * keep the order they came back in, so this bound decides where a job released between two
 * reserves lands among a dead worker's jobs; both drivers share it to agree on that.
 */
export const RECLAIMS_PER_RESERVE = 100;

/** What `QueueDriver.extend` is told besides the leases. */
export interface ExtendOptions {
  /**
   * How many of the leases, the first ones, are of jobs whose handler has started: their
   * attempts count if their leases end (default 0).
   */
  started?: number;
}

/** What `QueueDriver.release` is told besides the leases. */
export interface ReleaseOptions {
  /**
   * How many of the leases, the first ones, are of jobs whose handler has started (a worker
   * stopping while they ran): their attempts are given back all the same, but a job that ran
   * counts as such when it comes due past its `expiresAt`, failed rather than `expired`
   * (default 0).
   */
  started?: number;
}

/** Outcome of renewing a lease: still ours, lost to another owner, or cancel requested. */
export type LeaseState = 'ok' | 'lost' | 'cancel';

/** A finished attempt that succeeded. */
export interface Completion {
  lease: Lease;
  /** The JSON-encoded value `handle()` returned. */
  result: string;
}

/** A finished attempt that failed. */
export interface Failure {
  lease: Lease;
  error: StoredError;
  /** Milliseconds before the next try, or `null` to fail for good. */
  retryInMs: number | null;
}

/** What a release did with a job: back in its queue, ended cancelled, or not ours. */
export type ReleaseOutcome = 'queued' | 'cancelled' | 'lost';

/** What a failure led to. */
export type FailOutcome = 'retrying' | 'failed' | 'cancelled' | 'lost';

/** What a failure led to, and when a retry that waits comes due. */
export interface FailResult {
  outcome: FailOutcome;
  /**
   * When the retry comes due (epoch ms, by the store's clock, as on the job's record): set
   * exactly when `outcome` is `retrying` and the job waits `delayed`; a retry without one is
   * `queued` at once.
   */
  runAt?: number;
}

/** A failed job `retryFailed` moved back to waiting. */
export interface RetriedJob {
  id: string;
  name: string;
}

/** What `QueueDriver.retryFailed` did. */
export interface RetryFailedOutcome {
  /** How many jobs went back to waiting. */
  retried: number;
  /**
   * Ids left in the failed store because their `expiresAt` has passed: retried, they would only
   * end `expired` unstarted, and their failure's error would be lost with the record.
   */
  expired: string[];
  /**
   * Ids asked for (`{ ids }`) that were no failed job when the call ran: retried or deleted by
   * another call meanwhile, or never failed.
   */
  missing: string[];
}

/** Options of one `reserve` call. */
export interface ReserveOptions {
  count: number;
  leaseMs: number;
  /** Name of the reserving worker, stored on the record. */
  worker: string;
  /** Tries for jobs dispatched without `maxTries` (the worker's `--tries`). */
  defaultMaxTries: number;
}

/** Result of one `reserve` call. */
export interface ReserveResult {
  jobs: ReservedJob[];
  /** Jobs that this call moved to failed because crashed workers used up their tries. */
  abandoned: JobRecord[];
  /** Jobs this call found past their `expiresAt` and marked expired. */
  expired: { id: string; name: string }[];
  /**
   * Other status changes this call made, which no worker code makes: a delayed job that came
   * due (`queued`), a job whose lease lapsed handed back (`queued`) or, its cancel requested,
   * ended (`cancelled`). `attempt` is the job's attempts so far, as in its record.
   */
  changed: {
    id: string;
    name: string;
    attempt: number;
    status: 'queued' | 'cancelled';
    /** Set on a job handed back because its lease lapsed (its worker stopped renewing it). */
    reclaimed?: true;
  }[];
  /**
   * Epoch ms (by this process's clock) of the next delayed job or lease deadline in this queue, if any. Drivers
   * must report it when `jobs` is empty (the caller is about to wait); with jobs they may
   * return null, as the caller asks again at once.
   */
  wakeAt: number | null;
}

/** Stops a subscription. */
export type Unsubscribe = () => Promise<void>;

/** Storage for queues; see the module header for the contract. */
export interface QueueDriver {
  readonly kind: 'redis' | 'memory';
  /** False when jobs do not survive the process (memory). */
  readonly durable: boolean;

  push(jobs: readonly NewJob[]): Promise<PushOutcome[]>;
  reserve(queue: string, options: ReserveOptions): Promise<ReserveResult>;
  /**
   * Renews leases for `leaseMs` from now; per lease, `ok`, `cancel` (a cancel was requested)
   * or `lost`. `options.started` marks the first leases as of jobs that have started.
   */
  extend(leases: readonly Lease[], leaseMs: number, options?: ExtendOptions): Promise<LeaseState[]>;
  /**
   * Completes attempts; per completion, true when stored and false when its lease was lost.
   * On Redis a call that rejects may still have been carried out, its reply lost on the way:
   * calling again with the same array gets the answer of the run that was carried out (kept
   * until it is sent again, up to 10,000 calls of that driver and queue later).
   */
  complete(completions: readonly Completion[]): Promise<boolean[]>;
  /**
   * Records a failed attempt. On Redis the same lease failed again (a call whose reply was
   * lost, sent again) gets the outcome of its first run while the job's record is kept, not `lost`.
   */
  fail(failure: Failure): Promise<FailResult>;
  /**
   * Puts running jobs back in their queue without counting the attempt (shutdown). A job
   * whose cancel was requested ends `cancelled` instead. Returns what became of each.
   */
  release(leases: readonly Lease[], options?: ReleaseOptions): Promise<ReleaseOutcome[]>;
  /** Resolves when one of `queues` may have work, or after `timeoutMs`, or on `interrupt()`. */
  waitForWork(queues: readonly string[], timeoutMs: number): Promise<void>;
  /** Wakes every pending `waitForWork` at once (used on shutdown). */
  interrupt(): void;

  counts(queue: string): Promise<QueueCounts>;
  /** Names of every queue that ever had a job pushed. */
  queues(): Promise<string[]>;
  /** Deletes waiting and delayed jobs of a queue; running ones finish. Returns how many. */
  clear(queue: string): Promise<number>;
  /** The record of job `id` in `queue`, or `undefined` when there is none. */
  getJob(queue: string, id: string): Promise<JobRecord | undefined>;
  /** Records of a queue in one status, newest first. */
  listJobs(queue: string, status: JobStatus, offset: number, limit: number): Promise<JobRecord[]>;
  /**
   * Records the progress of a running job, with `data` (encoded JSON; none when absent or
   * null) replacing the data of the last report; false when the lease is lost.
   */
  progress(lease: Lease, percent: number, message: string | null, data?: string | null): Promise<boolean>;
  /**
   * Cancels a job: pending, queued or delayed ones become `cancelled` at once; for a
   * running one a cancel is requested (the worker sees it on its next lease renewal).
   * Returns the status after the call; throws `E_JOB_STATE` for a finished job and
   * `E_JOB_NOT_FOUND` for an unknown one.
   */
  cancel(queue: string, id: string): Promise<JobStatus>;
  /** Moves a `pending` job to queued (or delayed); throws `E_JOB_STATE` otherwise. */
  releaseHeld(queue: string, id: string): Promise<JobStatus>;

  /** Failed records of a queue, newest first. */
  listFailed(queue: string, offset: number, limit: number): Promise<JobRecord[]>;
  /**
   * Moves failed jobs back to waiting as if new (attempts, progress, error, start time and
   * worker reset), but those whose `expiresAt` has passed, which stay failed. Returns what it
   * did. `onMoved` gets the jobs of each batch moved at once
   * (Redis moves up to 1,000 per script call), as soon as they are waiting, for their
   * `queued` events: workers may take them before the next batch moves.
   */
  retryFailed(
    queue: string,
    selection: FailedSelection,
    onMoved?: (moved: readonly RetriedJob[]) => void,
  ): Promise<RetryFailedOutcome>;
  /** Deletes failed records. Returns how many. */
  removeFailed(queue: string, selection: FailedSelection): Promise<number>;

  /** Sizes and rates of a queue. */
  stats(queue: string): Promise<QueueStats>;
  /**
   * Epoch ms on the clock the driver stamps records and scores sets with: the Redis server's
   * (`TIME`), which need not agree with this process's. A cutoff compared with record times
   * (`removeFailed`'s `failedBefore`, say) is best taken from it.
   */
  now(): Promise<number>;

  /** Publishes job events to subscribers in every process (fire and forget, one message per batch). */
  publishEvents(batch: EventBatch): void;
  /**
   * Whether events published now may reach a listener in any process. `JobEventPublisher` asks
   * when a window of changes opens (at most every `flushIntervalMs`, 10 ms by default) and
   * records nothing in that window when false, and asks again before it sends: a
   * publish-subscribe message reaches only those subscribed when it is sent. A listener that
   * subscribes while such a window is open misses its changes (up to 10 ms). A driver without
   * it is always published to.
   */
  hasEventListeners?(): boolean;
  /**
   * Resolves once the job events this process published so far have reached this process's own
   * subscriptions ({@link subscribeEvents}): what a stopping server awaits before it ends its
   * MQTT bridge, so that the events of the jobs its workers finished or handed back go out.
   * A driver without it delivers them before a publish returns.
   */
  eventsDelivered?(): Promise<void>;
  /**
   * Calls `listener` for every job status change published by any process (given
   * {@link JobEventListeners}, `status` for those and `progress` for progress reports, in the
   * order they were published). A listener that throws (or an async one that rejects) loses
   * only that event: the error goes to `onError` (or is dropped without one) and the events
   * after it, of the same message too, are still delivered.
   */
  subscribeEvents(
    listener: JobEventListener | JobEventListeners,
    onError?: JobEventListenerError,
  ): Promise<Unsubscribe>;
  /** Calls `listener` when any process cancels a running job (so its worker aborts at once). */
  subscribeCancels(listener: (queue: string, id: string) => void): Promise<Unsubscribe>;

  /**
   * Records a worker's heartbeat; it is listed until `ttlMs` passes without another. Resolves
   * to the live heartbeat it replaced when that came from another process or another start
   * (host, pid or `startedAt` differ): two workers share the name, and only one can be listed.
   */
  heartbeat(info: WorkerInfo, ttlMs: number): Promise<WorkerInfo | void>;
  /**
   * Removes a worker from the list (clean shutdown). Given `owner`, the stopping worker's
   * identity, only while the heartbeat stored under `id` is that worker's: another live worker
   * sharing the name stays listed.
   */
  removeWorker(id: string, owner?: WorkerIdentity): Promise<void>;
  /** Workers whose heartbeat has not expired. */
  workers(): Promise<WorkerInfo[]>;

  close(): Promise<void>;
}
