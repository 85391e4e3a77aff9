/**
 * Job records on Redis as operators read and steer them: one job, jobs by status,
 * cancel and release, the failed-jobs store, and clearing a queue.
 */
import type { Redis } from 'ioredis';
import { JobNotFoundError, JobStateError } from '../../../errors.js';
import {
  FINISHED_STATUSES,
  type FailedSelection,
  type JobRecord,
  type JobStatus,
  type RetentionSettings,
  type RetriedJob,
  type RetryFailedOutcome,
} from '../../driver.js';
import { assertJobId } from '../../names.js';
import type { KeyBuilder, QueueKeys } from './keys.js';
import { decodeRecord, fieldsOf } from './record_codec.js';
import { runScript } from './scripts.js';
import { serverNow } from './server_clock.js';
import { jobKeyOfAnotherType, refusedJobCall, refusedQueueCall } from './unavailable.js';

const STATUS_SET: Record<JobStatus, keyof QueueKeys> = {
  pending: 'pending',
  queued: 'wait',
  delayed: 'delayed',
  running: 'active',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  expired: 'expired',
};

export class RedisRecords {
  readonly #redis: Redis;
  readonly #keys: KeyBuilder;
  readonly #retention: RetentionSettings;
  readonly #unavailable: (error: unknown) => never;

  constructor(
    redis: Redis,
    keys: KeyBuilder,
    retention: RetentionSettings,
    unavailable: (error: unknown) => never,
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#retention = retention;
    this.#unavailable = unavailable;
  }

  // Every public method maps a connection failure to E_REDIS_UNAVAILABLE, as the driver's own do.

  clear(queue: string): Promise<number> {
    return this.#clear(queue).catch(this.#unavailable);
  }

  /**
   * The record of job `id` of `queue`, or undefined when there is none. A job key that holds
   * another type (its hash replaced by hand) is read as no record by read_records.lua; asked by
   * id, it throws `E_REDIS_WRONG_TYPE` naming the key, not "not found", so `job:show`,
   * `job:cancel` and `job:release` say what is wrong. That costs one `TYPE` call, on the
   * not-found path only (no worker or dispatch reads by id).
   */
  async getJob(queue: string, id: string): Promise<JobRecord | undefined> {
    const [record] = await this.records(queue, [id]);
    if (record) return record;
    const key = this.#keys.job(queue, id);
    const type = await this.#redis.type(key).catch(this.#unavailable);
    if (type !== 'none' && type !== 'hash') {
      throw jobKeyOfAnotherType({ queue, id, key, type }, `job ${id} cannot be read`);
    }
    return undefined;
  }

  listJobs(queue: string, status: JobStatus, offset: number, limit: number): Promise<JobRecord[]> {
    return this.#listJobs(queue, status, offset, limit).catch(this.#unavailable);
  }

  cancel(queue: string, id: string): Promise<JobStatus> {
    return this.#cancel(queue, id).catch(this.#unavailable);
  }

  releaseHeld(queue: string, id: string): Promise<JobStatus> {
    return this.#releaseHeld(queue, id).catch(this.#unavailable);
  }

  listFailed(queue: string, offset: number, limit: number): Promise<JobRecord[]> {
    return this.listJobs(queue, 'failed', offset, limit);
  }

  retryFailed(
    queue: string,
    selection: FailedSelection,
    onMoved?: (moved: readonly RetriedJob[]) => void,
  ): Promise<RetryFailedOutcome> {
    return this.#retryFailed(queue, selection, onMoved).catch(this.#unavailable);
  }

  removeFailed(queue: string, selection: FailedSelection): Promise<number> {
    return this.#removeFailed(queue, selection).catch(this.#unavailable);
  }

  /**
   * The records of `ids` that still exist, in order, read in one script call: each job's
   * hash, and for a completed job its finish time (`read_records.lua`).
   */
  records(queue: string, ids: readonly string[]): Promise<JobRecord[]> {
    return this.#records(queue, ids).catch(this.#unavailable);
  }

  async #clear(queue: string): Promise<number> {
    const keys = this.#keys.queue(queue);
    let total = 0;
    // delayed before wait: a reserve between two calls moves due delayed jobs to the wait set,
    // where they would be missed had it been drained already
    for (const set of [keys.delayed, keys.wait]) {
      total += await this.#drain(set, keys.job, '+inf');
    }
    return total;
  }

  async #listJobs(queue: string, status: JobStatus, offset: number, limit: number): Promise<JobRecord[]> {
    // as the memory driver: no records for a limit of 0 or less, and a negative offset read as 0
    // (ZRANGE and LRANGE read a stop of -1 as "to the end", and a negative start from the tail)
    if (limit <= 0) return [];
    offset = Math.max(0, offset);
    // a list, oldest first: the script reads the newest `limit` after `offset` from its tail,
    // knowing each one's place there, where ids alone would each cost a scan of the list
    if (status === 'completed') return this.#read(queue, ['page', offset, limit]);
    // the ids and their records in one call: read in two, a job that moved on in between (a
    // running one completed) was listed under its old status with its new record
    const set = this.#keys.queue(queue)[STATUS_SET[status]];
    const order = FINISHED_STATUSES.has(status) ? 'rev' : 'asc';
    return this.#read(queue, ['range', offset, limit, order], [set]);
  }

  async #cancel(queue: string, id: string): Promise<JobStatus> {
    const keys = this.#keys.queue(queue);
    this.#keys.job(queue, id);
    const outcome = await runScript<string>(
      this.#redis,
      'cancel_job',
      [keys.wait, keys.delayed, keys.pending, keys.cancelled, keys.leases],
      [keys.job, id, this.#retention.completedCount, this.#retention.completedAgeMs],
    ).catch(async (error: unknown) => {
      throw await refusedJobCall(this.#redis, error, { queue, id, keys }, `job ${id} cannot be cancelled`);
    });
    return this.#statusOutcome(outcome, queue, id, 'cancel');
  }

  async #releaseHeld(queue: string, id: string): Promise<JobStatus> {
    const keys = this.#keys.queue(queue);
    this.#keys.job(queue, id);
    const outcome = await runScript<string>(
      this.#redis,
      'release_held',
      [keys.pending, keys.wait, keys.delayed, keys.seq, keys.signal, keys.leases],
      [keys.job, id],
    ).catch(async (error: unknown) => {
      throw await refusedJobCall(this.#redis, error, { queue, id, keys }, `job ${id} cannot be released`);
    });
    return this.#statusOutcome(outcome, queue, id, 'release');
  }

  async #retryFailed(
    queue: string,
    selection: FailedSelection,
    onMoved: ((moved: readonly RetriedJob[]) => void) | undefined,
  ): Promise<RetryFailedOutcome> {
    const keys = this.#keys.queue(queue);
    const outcome: RetryFailedOutcome = { retried: 0, expired: [], missing: [] };
    // where a 'before' run goes on from: past the ids it left failed (past their expiresAt)
    let cursor: [string, number] = ['-inf', 0];
    // [id, name, ... of the jobs moved; how many members it looked at; ids left failed, past
    // their expiresAt; ids asked for that were no failed job; the cursor for the next call]
    const script = async (mode: string, cutoff: string | number, ids: string[]) => {
      const [flat, looked, expired, missing, lastScore, stay] = await runScript<
        [string[], number, string[], string[], string, number]
      >(
        this.#redis,
        'retry_failed',
        [keys.failed, keys.wait, keys.seq, keys.signal],
        [keys.job, mode, cutoff, ...cursor, ...ids],
      ).catch(async (error: unknown) => {
        throw await refusedQueueCall(
          this.#redis,
          error,
          queue,
          keys,
          `failed jobs of queue "${queue}" cannot be retried`,
        );
      });
      cursor = [lastScore, stay];
      const moved: RetriedJob[] = [];
      for (let i = 0; i < flat.length; i += 2) moved.push({ id: flat[i]!, name: flat[i + 1]! });
      outcome.retried += moved.length;
      outcome.expired.push(...expired);
      outcome.missing.push(...missing);
      if (moved.length > 0) onMoved?.(moved);
      return looked;
    };
    if ('ids' in selection) {
      // each once: a second copy would read as no failed job, its first having moved
      if (selection.ids.length > 0) await script('ids', 0, [...new Set(selection.ids)]);
      return outcome;
    }
    // Only jobs that failed by now, on the clock that scores the failed set: with '+inf', a
    // job retried by one batch and failed again by a quick worker was taken again by the next.
    const now = await serverNow(this.#redis);
    const cutoff = 'all' in selection ? now : Math.min(selection.failedBefore, now);
    // While a call looks at a full 1,000: a member whose record is gone is taken but not moved,
    // so fewer moved is no sign of the end; those left failed (expired) are passed over by the
    // cursor, whatever other commands delete meanwhile.
    for (let looked = 1000; looked === 1000; ) looked = await script('before', cutoff, []);
    return outcome;
  }

  async #removeFailed(queue: string, selection: FailedSelection): Promise<number> {
    const keys = this.#keys.queue(queue);
    if ('ids' in selection) {
      if (selection.ids.length === 0) return 0;
      return runScript<number>(
        this.#redis,
        'remove_jobs',
        [keys.failed],
        [keys.job, 'ids', 0, ...selection.ids],
      );
    }
    return this.#drain(keys.failed, keys.job, 'all' in selection ? '+inf' : selection.failedBefore);
  }

  /** Deletes every member of `set` scored up to `cutoff` with its job hash, 1,000 per call. */
  async #drain(set: string, jobPrefix: string, cutoff: string | number): Promise<number> {
    let total = 0;
    for (let removed = 1000; removed === 1000; total += removed) {
      removed = await runScript<number>(this.#redis, 'remove_jobs', [set], [jobPrefix, 'before', cutoff]);
    }
    return total;
  }

  async #records(queue: string, ids: readonly string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    // the script builds the job keys from these ids: checked here, as KeyBuilder.job does
    for (const id of ids) assertJobId(id);
    return this.#read(queue, ['ids', ...ids]);
  }

  /**
   * Runs read_records.lua on `selection` (`ids` and the ids; `page`, offset and limit; or
   * `range`, offset, limit and order, of the sorted set in `extraKeys`).
   */
  async #read(
    queue: string,
    selection: readonly (string | number)[],
    extraKeys: readonly string[] = [],
  ): Promise<JobRecord[]> {
    const keys = this.#keys.queue(queue);
    const replies = await runScript<(string[] | number | string)[]>(
      this.#redis,
      'read_records',
      [keys.leases, keys.completed, keys.completedTimes, ...extraKeys],
      [keys.job, ...selection],
    ).catch(async (error: unknown) => {
      // a key of the queue of another type (its leases, replaced by hand), named
      throw await refusedQueueCall(this.#redis, error, queue, keys, 'its records cannot be read');
    });
    const records: JobRecord[] = [];
    for (let index = 0; index + 3 < replies.length; index += 4) {
      const hash = fieldsOf(replies[index + 1] as string[]);
      const finished = replies[index + 3] as string;
      const completion =
        replies[index + 2] === 1 ? { finishedAt: finished === '' ? null : Number(finished) } : null;
      const record = decodeRecord(queue, replies[index] as string, hash, completion);
      if (record) records.push(record);
    }
    return records;
  }

  #statusOutcome(outcome: string, queue: string, id: string, action: 'cancel' | 'release'): JobStatus {
    if (outcome === 'missing') {
      throw new JobNotFoundError(`job ${id} was not found in queue "${queue}" (its record may have expired)`);
    }
    if (outcome.startsWith('state:')) {
      const status = outcome.slice('state:'.length);
      const allowed =
        action === 'cancel' ? 'pending, queued, delayed or running' : 'pending (created on hold)';
      throw new JobStateError(`cannot ${action} job ${id}: it is ${status}; only ${allowed} jobs can be`);
    }
    return outcome as JobStatus;
  }
}
