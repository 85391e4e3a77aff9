/**
 * Where the jobs of one memory queue sit. Each status has its own structure and a job is
 * in exactly one of them, so every move is a removal plus an insertion, never a scan:
 * heaps for waiting (priority, sequence), delayed (runAt) and running (lease deadline)
 * jobs, sorted indexes for held jobs (createdAt) and failed, cancelled and expired records
 * (finishedAt), and an append-only index for completed records. The orders are the Redis
 * driver's: those of its sorted sets, tie-breaks by id included, and for completed records
 * that of its completed list, the order they were acknowledged in.
 * {@link MemoryQueue} decides the moves; this class keeps the structures, the record's
 * status and the retention bounds in step.
 */
import type {
  FailedSelection,
  JobRecord,
  JobStatus,
  Lease,
  QueueCounts,
  RetentionSettings,
} from '../../driver.js';
import { AppendIndex } from './append_index.js';
import { PriorityHeap } from './priority_heap.js';
import { SortedIndex } from './sorted_index.js';
import { copyRecord, type StoredJob } from './stored_job.js';

interface WaitingKey {
  priority: number;
  /**
   * The queue's sequence for a queued job (1, 2, ...); for one handed back to the front by a
   * lapsed or released lease, {@link FRONT} plus its number among those, so it goes first.
   */
  order: number;
  id: string;
}

interface TimedKey {
  at: number;
  id: string;
}

/** A delayed job: its run-at time, then the order it was delayed in (as delayedSeq in Redis). */
interface DelayedKey extends TimedKey {
  order: number;
}

/** Where the orders of jobs handed back to the front start: below every queued job's. */
const FRONT = -(2 ** 50);

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byPriority = (a: WaitingKey, b: WaitingKey): number =>
  a.priority - b.priority || a.order - b.order || compareIds(a.id, b.id);
const byTime = (a: TimedKey, b: TimedKey): number => a.at - b.at || compareIds(a.id, b.id);
// jobs due at one time come due in the order they were delayed (dispatched, retried, released)
const byDueOrder = (a: DelayedKey, b: DelayedKey): number => a.at - b.at || a.order - b.order;

/** The statuses whose records are bounded by the retention settings, each on its own. */
export type RetainedStatus = 'completed' | 'cancelled' | 'expired';

/** How many records a queue keeps. */
export interface QueueLimits {
  retention: RetentionSettings;
  /** Failed records kept before the oldest are dropped. */
  failedCount: number;
}

/** The jobs of one queue, placed by status. */
export class QueueState {
  readonly #limits: QueueLimits;
  readonly #jobs = new Map<string, StoredJob>();
  readonly #waiting = new PriorityHeap<WaitingKey>(byPriority);
  readonly #delayed = new PriorityHeap<DelayedKey>(byDueOrder);
  readonly #running = new PriorityHeap<TimedKey>(byTime);
  readonly #pending = new SortedIndex();
  readonly #failed = new SortedIndex();
  // completed records are a list in Redis, not a sorted set: same-millisecond ones (a whole
  // acknowledgement batch) keep the order they were acknowledged in, not that of their ids
  readonly #finished: Record<RetainedStatus, AppendIndex | SortedIndex> = {
    completed: new AppendIndex(),
    cancelled: new SortedIndex(),
    expired: new SortedIndex(),
  };
  #sequence = 0;
  #front = 0;
  /** Set when a job became queued or delayed; the driver turns it into one wake-up per call. */
  #workArrived = false;

  constructor(limits: QueueLimits) {
    this.#limits = limits;
  }

  /** Whether a job became queued or delayed since the last call; resets the flag. */
  takeWorkArrived(): boolean {
    const arrived = this.#workArrived;
    this.#workArrived = false;
    return arrived;
  }

  find(id: string): StoredJob | undefined {
    return this.#jobs.get(id);
  }

  /** The job `lease` names, when it is running under that lease's token. */
  owned(lease: Lease): StoredJob | undefined {
    const job = this.#jobs.get(lease.id);
    return job?.record.status === 'running' && job.token === lease.token ? job : undefined;
  }

  /** Adds a new job; the caller places it with `hold`, `enqueue` or `delay` at once. */
  insert(job: StoredJob): void {
    this.#jobs.set(job.record.id, job);
  }

  hold(job: StoredJob): void {
    job.record.status = 'pending';
    this.#pending.add(job.record.id, job.record.createdAt);
  }

  /** Puts a job in waiting, queued at `queuedAt`, behind its priority or (`front`) ahead of it. */
  enqueue(job: StoredJob, queuedAt: number, place: 'back' | 'front' = 'back'): void {
    const { record } = job;
    record.status = 'queued';
    record.queuedAt = queuedAt;
    // the front is ahead of every queued job, in the order jobs came back (as frontScore in
    // common.lua places them)
    const order = place === 'front' ? FRONT + ++this.#front : ++this.#sequence;
    this.#waiting.set(record.id, { priority: record.priority, order, id: record.id });
    this.#workArrived = true;
  }

  delay(job: StoredJob, runAt: number): void {
    job.record.status = 'delayed';
    job.record.runAt = runAt;
    this.#delayed.set(job.record.id, { at: runAt, order: ++this.#sequence, id: job.record.id });
    this.#workArrived = true;
  }

  /** Moves a job taken by {@link QueueState.popWaiting} to running until `deadline`. */
  run(job: StoredJob, deadline: number): void {
    job.record.status = 'running';
    this.renew(job, deadline);
  }

  renew(job: StoredJob, deadline: number): void {
    this.#running.set(job.record.id, { at: deadline, id: job.record.id });
  }

  /** Takes a job out of running and drops its token; the caller moves it on at once. */
  stopRunning(job: StoredJob): void {
    this.#running.delete(job.record.id);
    job.token = null;
  }

  /** Takes a pending, queued or delayed job out of its structure; false for any other status. */
  unschedule(job: StoredJob): boolean {
    const { id, status } = job.record;
    if (status === 'pending') return this.#pending.delete(id);
    if (status === 'queued') return this.#waiting.delete(id);
    if (status === 'delayed') return this.#delayed.delete(id);
    return false;
  }

  /**
   * Moves the next delayed job whose runAt has come to waiting, queued since that runAt (when it
   * became ready to run, as `reserve_jobs.lua` stamps it); undefined when none is due.
   */
  promoteDue(now: number): StoredJob | undefined {
    const next = this.#delayed.peek();
    if (!next || next.value.at > now) return undefined;
    this.#delayed.pop();
    const job = this.#job(next.key);
    this.enqueue(job, next.value.at);
    return job;
  }

  /** The next running job whose lease deadline has passed, taken out of running. */
  popLapsed(now: number): StoredJob | undefined {
    const next = this.#running.peek();
    if (!next || next.value.at > now) return undefined;
    const job = this.#job(next.key);
    this.stopRunning(job);
    return job;
  }

  /** The first waiting job (lowest priority number, then FIFO), taken out of waiting. */
  popWaiting(): StoredJob | undefined {
    const next = this.#waiting.pop();
    return next && this.#job(next.key);
  }

  get hasWaiting(): boolean {
    return this.#waiting.size > 0;
  }

  /**
   * Since when the longest-waiting job has waited (epoch ms), or null when none waits: the
   * earliest queuedAt of the waiting jobs (a delayed job moved to waiting is queued since its
   * runAt), or the runAt of a delayed job that is due but not yet moved to waiting (no worker
   * has reserved since), as `queue_stats.lua` answers. It reads every waiting job; the memory
   * driver is for tests and development.
   */
  waitingSince(now: number): number | null {
    let since = Number.POSITIVE_INFINITY;
    for (const id of this.#waiting.keys()) since = Math.min(since, this.#job(id).record.queuedAt ?? since);
    const due = this.#delayed.peek()?.value.at;
    if (due !== undefined && due <= now) since = Math.min(since, due);
    return Number.isFinite(since) ? since : null;
  }

  /** The earliest delayed runAt or lease deadline, or null when there is neither. */
  wakeAt(): number | null {
    const nextRun = this.#delayed.peek()?.value.at;
    const nextDeadline = this.#running.peek()?.value.at;
    if (nextRun === undefined) return nextDeadline ?? null;
    return nextDeadline === undefined ? nextRun : Math.min(nextRun, nextDeadline);
  }

  /**
   * Ends jobs as failed; they stay until retried, removed or pushed out by newer failures. The
   * failed set is trimmed to make room for them first, so all of them are kept even when they
   * are more than the bound (a reserve that fails many at once), as `reserve_jobs.lua` does;
   * the set is back within it when the next job fails into it.
   */
  toFailed(jobs: readonly StoredJob[], now: number): void {
    const room = Math.max(0, this.#limits.failedCount - jobs.length);
    this.#forgetAll(this.#failed.takeLowest(this.#failed.size - room));
    for (const job of jobs) {
      job.record.status = 'failed';
      job.record.finishedAt = now;
      this.#failed.add(job.record.id, now);
    }
  }

  /**
   * Ends a job as completed, cancelled or expired, trimming its status's records first to make
   * room: trimmed after, a cancelled or expired record finished in the same millisecond with a
   * higher id would outrank it, and the job's own record would go at once (as `finishInto` in
   * common.lua). A completed one is appended, so it is the newest whatever its id.
   */
  finish(job: StoredJob, status: RetainedStatus, now: number): void {
    const { completedCount, completedAgeMs } = this.#limits.retention;
    if (completedCount <= 0) {
      this.#jobs.delete(job.record.id);
      return;
    }
    job.record.status = status;
    job.record.finishedAt = now;
    const records = this.#finished[status];
    records.delete(job.record.id); // an entry of its own must not be the one trimmed
    this.#forgetAll(records.takeLowest(records.size - (completedCount - 1)));
    if (completedAgeMs > 0) this.#forgetAll(records.takeUpTo(now - completedAgeMs));
    records.add(job.record.id, now);
  }

  /**
   * Takes the failed jobs that `selection` picks out of failed (ids in the given order, each
   * once, else oldest first), but those `stays` keeps there; names the ids asked for that are
   * no failed job.
   */
  takeFailed(
    selection: FailedSelection,
    stays: (job: StoredJob) => boolean = () => false,
  ): { taken: StoredJob[]; kept: StoredJob[]; missing: string[] } {
    const taken: StoredJob[] = [];
    const kept: StoredJob[] = [];
    const missing: string[] = [];
    if ('ids' in selection) {
      for (const id of new Set(selection.ids)) {
        if (!this.#failed.has(id)) missing.push(id);
        else if (stays(this.#job(id))) kept.push(this.#job(id));
        else {
          this.#failed.delete(id);
          taken.push(this.#job(id));
        }
      }
      return { taken, kept, missing };
    }
    const cutoff = 'all' in selection ? Number.POSITIVE_INFINITY : selection.failedBefore;
    for (const id of this.#failed.takeUpTo(cutoff)) {
      const job = this.#job(id);
      if (!stays(job)) taken.push(job);
      else {
        kept.push(job);
        this.#failed.add(id, job.record.finishedAt ?? 0); // back where it was
      }
    }
    return { taken, kept, missing };
  }

  /** Forgets a job that the caller took out of every structure. */
  forget(job: StoredJob): void {
    this.#jobs.delete(job.record.id);
  }

  /** Deletes every waiting and delayed job; returns how many. */
  clearScheduled(): number {
    const ids = [...this.#waiting.keys(), ...this.#delayed.keys()];
    this.#forgetAll(ids);
    this.#waiting.clear();
    this.#delayed.clear();
    return ids.length;
  }

  counts(): QueueCounts {
    return {
      waiting: this.#waiting.size,
      delayed: this.#delayed.size,
      running: this.#running.size,
      pending: this.#pending.size,
      failed: this.#failed.size,
      completed: this.#finished.completed.size,
    };
  }

  /**
   * Copies of the records in `status`: finished ones newest first, the others in the
   * order they will move on (waiting in reserve order, delayed by runAt, running by
   * lease deadline, held by creation).
   */
  list(status: JobStatus, offset: number, limit: number): JobRecord[] {
    const from = Math.max(0, offset);
    const count = Math.max(0, limit);
    const page = <T>(heap: PriorityHeap<T>, compare?: (a: T, b: T) => number) =>
      heap
        .sorted(compare)
        .slice(from, from + count)
        .map((entry) => entry.key);
    let ids: string[];
    if (status === 'queued') ids = page(this.#waiting);
    // listed by run-at time, ties by id, as Redis lists its delayed set
    else if (status === 'delayed') ids = page(this.#delayed, byTime);
    else if (status === 'running') ids = page(this.#running);
    else if (status === 'pending') ids = this.#pending.ascending(from, count);
    else if (status === 'failed') ids = this.#failed.descending(from, count);
    else ids = this.#finished[status].descending(from, count);
    return ids.map((id) => copyRecord(this.#job(id)));
  }

  #job(id: string): StoredJob {
    const job = this.#jobs.get(id);
    if (!job) throw new Error(`memory queue lost track of job "${id}" (a driver bug)`);
    return job;
  }

  #forgetAll(ids: readonly string[]): void {
    for (const id of ids) this.#jobs.delete(id);
  }
}
