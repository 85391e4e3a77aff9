/**
 * Jobs by id, as operators and apps steer them (`job:show`, `job:list`, `job:cancel`,
 * `job:release`): finds a job's queue, reads its record, cancels it, releases it from
 * hold, and announces each change as a job event.
 */
import { JobNotFoundError } from '../errors.js';
import type { JobRecord, JobStatus, QueueDriver } from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { findRecord, queuesToSearch } from './job_lookup.js';

/** Filters of {@link JobManager.list}. */
export interface JobListOptions {
  queue?: string;
  status?: JobStatus;
  limit?: number;
}

const LISTED_STATUSES: JobStatus[] = [
  'running',
  'queued',
  'delayed',
  'pending',
  'failed',
  'completed',
  'cancelled',
  'expired',
];

/**
 * Reads and steers jobs by id.
 *
 * @example
 * const record = await app.jobs.find(id);
 * if (record.status === 'running') await app.jobs.cancel(id);
 */
export class JobManager {
  readonly #driver: QueueDriver;
  readonly #events: JobEventPublisher | undefined;

  constructor(driver: QueueDriver, events?: JobEventPublisher) {
    this.#driver = driver;
    this.#events = events;
  }

  /** The record of job `id` (searching every queue unless one is given); `E_JOB_NOT_FOUND` otherwise. */
  async find(id: string, queue?: string): Promise<JobRecord> {
    const record = await findRecord(this.#driver, id, queue);
    if (record) return record;
    throw new JobNotFoundError(
      `no job has id ${id}${queue ? ` in queue "${queue}"` : ''}: it never existed or its record expired ` +
        '(finished records are kept for QUEUE_KEEP_COMPLETED_HOURS)',
    );
  }

  /** Records by queue and status; running first, finished newest first. */
  async list(options: JobListOptions = {}): Promise<JobRecord[]> {
    const limit = options.limit ?? 50;
    const statuses = options.status ? [options.status] : LISTED_STATUSES;
    const records: JobRecord[] = [];
    for (const queue of await queuesToSearch(this.#driver, options.queue)) {
      for (const status of statuses) {
        if (records.length >= limit) return records;
        records.push(...(await this.#driver.listJobs(queue, status, 0, limit - records.length)));
      }
    }
    return records;
  }

  /**
   * Cancels a job: one not started yet is cancelled at once; a running one has its
   * AbortSignal fired and ends `cancelled` (not retried) when its handler stops.
   * Resolves to the status after the call.
   */
  async cancel(id: string, queue?: string): Promise<JobStatus> {
    const record = await this.find(id, queue);
    const status = await this.#driver.cancel(record.queue, id);
    if (status === 'cancelled') this.#events?.emit(record, 'cancelled', record.attempts);
    return status;
  }

  /** Releases a job created on hold (`pending`) into its queue. */
  async release(id: string, queue?: string): Promise<JobStatus> {
    const record = await this.find(id, queue);
    const status = await this.#driver.releaseHeld(record.queue, id);
    this.#events?.emit(
      record,
      status,
      record.attempts,
      undefined,
      record.runAt ? { runAt: record.runAt } : undefined,
    );
    return status;
  }
}
