/**
 * Jobs by id, as operators and apps steer them (`job:show`, `job:list`, `job:cancel`,
 * `job:release`): finds a job's queue, reads its record, cancels it, releases it from
 * hold, and announces each change as a job event.
 */
import { JobNotFoundError } from '../errors.js';
import type { JobRecord, JobStatus, QueueDriver } from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { type JobListOptions, JobListing } from './job_listing.js';
import { findRecord } from './job_lookup.js';

export { type JobListOptions, MAX_FILTER_SCAN, MAX_LIST_LIMIT } from './job_listing.js';

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
  readonly #listing: JobListing;

  constructor(driver: QueueDriver, events?: JobEventPublisher) {
    this.#driver = driver;
    this.#events = events;
    this.#listing = new JobListing(driver);
  }

  /**
   * The record of job `id` (searching every queue unless one is given); `E_JOB_NOT_FOUND`
   * otherwise.
   */
  async find(id: string, queue?: string): Promise<JobRecord> {
    const record = await findRecord(this.#driver, id, queue);
    if (record) return record;
    throw new JobNotFoundError(
      `no job has id ${id}${queue ? ` in queue "${queue}"` : ''}: it never existed or its record is gone ` +
        '(finished records are kept per queue: completed, cancelled and expired ones up to ' +
        'QUEUE_KEEP_COMPLETED for QUEUE_KEEP_COMPLETED_HOURS, failed ones up to QUEUE_KEEP_FAILED until ' +
        'deleted with queue:forget, queue:flush or queue:prune-failed)',
    );
  }

  /**
   * Records by status, across the queues: running first, then queued, delayed, pending, and
   * then the finished ones (failed, completed, cancelled and expired together) newest first by
   * finish time, so a limit cuts off the least interesting records of every queue and status
   * rather than every record of the queues or statuses that sort last. Of finished records with
   * the same finish time, failed come before completed, cancelled and expired, and within a
   * status the queues go in the order `driver.queues()` gives. A record is listed only under
   * the status it has when read, and a job is listed once though it changes status while the
   * list is read: when the page has room, the lists jobs move into (queued, then running) are
   * read again for jobs not listed yet, then the finished ones, so a job that moves on meanwhile
   * is found in the list it moved to. A job sent back meanwhile (a retry, a release on
   * shutdown, a failed job retried), or one that stays while jobs ahead of it leave a list read
   * in more than one call, may be missed by that one list (docs/lifecycle.md). Throws
   * `E_INVALID_OPTION` for an unknown status, a name no job could have, an owner no job could
   * have, or a limit that is not a whole number from 1 to {@link MAX_LIST_LIMIT}.
   */
  async list(options: JobListOptions = {}): Promise<JobRecord[]> {
    return (await this.listPage(options)).records;
  }

  /** As {@link list}, saying whether more records match than the limit let through. */
  listPage(options: JobListOptions = {}): Promise<{ records: JobRecord[]; more: boolean }> {
    return this.#listing.page(options);
  }

  /**
   * Cancels a job: one not started yet is cancelled at once; a running one has its
   * AbortSignal fired and ends `cancelled` (not retried) when its handler stops.
   * Resolves to the status after the call.
   */
  async cancel(id: string, queue?: string): Promise<JobStatus> {
    const record = await this.find(id, queue);
    const status = await this.#driver.cancel(record.queue, id);
    if (status === 'cancelled' && this.#events?.enabled) {
      // read again: a hand-back between the two calls gives an attempt back
      const now = await this.#driver.getJob(record.queue, id).catch(() => undefined);
      const attempts = now?.attempts ?? record.attempts;
      this.#events.emit(record, 'cancelled', attempts);
    }
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
