/**
 * Jobs by id, as operators and apps steer them (`job:show`, `job:list`, `job:cancel`,
 * `job:release`): finds a job's queue, reads its record, cancels it, releases it from
 * hold, and announces each change as a job event.
 */
import { InvalidOptionError, JobNotFoundError } from '../errors.js';
import {
  FINISHED_STATUSES,
  JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  type QueueDriver,
} from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { findRecord, queuesToSearch } from './job_lookup.js';
import { assertOwner } from './job_labels.js';
import { assertJobName, LISTED_NAME_HINT } from './names.js';

/** Filters of {@link JobManager.list}. */
export interface JobListOptions {
  queue?: string;
  status?: JobStatus;
  /**
   * Only jobs of this registry name (`SendEmailJob`, or a class's `jobName`). Records are
   * kept by queue and status, not by name, so this reads them and keeps the matches: at most
   * {@link MAX_FILTER_SCAN} records in all.
   */
  name?: string;
  /** Only jobs dispatched for this owner (`DispatchOptions.owner`); read as `name` is. */
  owner?: string;
  /** At most this many records, 1 to {@link MAX_LIST_LIMIT} (default 50). */
  limit?: number;
}

/** The largest `limit` {@link JobManager.list} takes (a list reads at most one record more). */
export const MAX_LIST_LIMIT = 10_000;

/**
 * The most records a list filtered by name or owner reads in all, across queues and statuses,
 * in the list's order; past it, `more` says that more may match. Redis reads them in calls of
 * {@link FILTER_SCAN_PAGE}, each a few milliseconds however deep in a queue it reads
 * (4-9 ms per 500 records against a local Redis, `npm run bench:pages`; 10,000 records in
 * about 0.1 s).
 */
export const MAX_FILTER_SCAN = 10_000;
const FILTER_SCAN_PAGE = 500;

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
 * The first page a filtered merge reads of each of `lists` lists: small enough that the first
 * pages of many lists leave most of {@link MAX_FILTER_SCAN} for the newest records.
 */
function firstScanPage(lists: number): number {
  return Math.max(1, Math.min(FILTER_SCAN_PAGE, Math.floor(MAX_FILTER_SCAN / (2 * lists))));
}

/** A finished record's time for ordering; one without (a completion time unknown) sorts last. */
function finishedTime(record: JobRecord): number {
  return record.finishedAt ?? 0;
}

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
   * status the queues go in the order `driver.queues()` gives. Throws `E_INVALID_OPTION`
   * for an unknown status, a name no job could have, an owner no job could have, or a limit that is not a whole number
   * from 1 to {@link MAX_LIST_LIMIT}.
   */
  async list(options: JobListOptions = {}): Promise<JobRecord[]> {
    return (await this.listPage(options)).records;
  }

  /** As {@link list}, saying whether more records match than the limit let through. */
  async listPage(options: JobListOptions = {}): Promise<{ records: JobRecord[]; more: boolean }> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new InvalidOptionError(
        `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}; got ${String(limit)}`,
      );
    }
    if (options.status !== undefined && !(JOB_STATUSES as readonly unknown[]).includes(options.status)) {
      throw new InvalidOptionError(
        `status must be one of ${JOB_STATUSES.join(', ')}; got ${JSON.stringify(options.status)}`,
      );
    }
    const { name, owner } = options;
    if (name !== undefined) assertJobName(name, LISTED_NAME_HINT);
    if (owner !== undefined) assertOwner(owner);
    const matches =
      name === undefined && owner === undefined
        ? undefined
        : (record: JobRecord) =>
            (name === undefined || record.name === name) && (owner === undefined || record.owner === owner);
    const statuses = options.status ? [options.status] : LISTED_STATUSES;
    const queues = await queuesToSearch(this.#driver, options.queue);
    const records: JobRecord[] = [];
    // A job that changes status between two reads (running, then completed) is listed once.
    const listed = new Set<string>();
    const add = (found: readonly JobRecord[]) => {
      for (const record of found) {
        const key = `${record.queue}\n${record.id}`;
        if (listed.has(key)) continue;
        listed.add(key);
        records.push(record);
      }
    };
    // one more than the limit, to tell whether there are more
    const reading = limit + 1;
    const budget = { left: MAX_FILTER_SCAN, capped: false };
    for (const status of statuses) {
      if (records.length >= reading || FINISHED_STATUSES.has(status)) continue;
      for (const queue of queues) {
        if (records.length >= reading) break;
        const wanted = reading - records.length;
        add(
          matches === undefined
            ? await this.#driver.listJobs(queue, status, 0, wanted)
            : await this.#readMatching(queue, status, wanted, matches, budget),
        );
      }
    }
    // finished ones of every finished status and queue together, newest first: a limit cuts off
    // the oldest of them, not every record of the statuses that come last
    const finished = statuses.filter((status) => FINISHED_STATUSES.has(status));
    const lists = finished.flatMap((status) => queues.map((queue) => ({ queue, status })));
    if (lists.length > 0 && records.length < reading) {
      const wanted = reading - records.length;
      add(
        matches === undefined
          ? await this.#mergeFinished(lists, wanted, () => true, Math.min(wanted, FILTER_SCAN_PAGE))
          : await this.#mergeFinished(lists, wanted, matches, firstScanPage(lists.length), budget),
      );
    }
    return { records: records.slice(0, limit), more: records.length > limit || budget.capped };
  }

  /**
   * Up to `wanted` finished records that `matches`, newest first across `lists` (each a queue
   * and a finished status, read newest first): the lists' pages are merged as they are read, so
   * only a list whose page was used up is read further, and a `budget` (when filtering) goes to
   * the newest records of all of them, not to the first list's. The first page of each list holds
   * `firstPage` places, later ones {@link FILTER_SCAN_PAGE}. Of records finished at the same
   * time, the one of the list given first comes first. `budget.capped` is set when the budget ran
   * out while a list still held records.
   */
  async #mergeFinished(
    lists: readonly { queue: string; status: JobStatus }[],
    wanted: number,
    matches: (record: JobRecord) => boolean,
    firstPage: number,
    budget?: { left: number; capped: boolean },
  ): Promise<JobRecord[]> {
    const cursors = lists.map(({ queue, status }) => ({
      queue,
      status,
      offset: 0,
      pageSize: firstPage,
      page: [] as JobRecord[],
      index: 0,
      done: false,
    }));
    const records: JobRecord[] = [];
    const seen = new Set<string>();
    while (records.length < wanted) {
      let newest: (typeof cursors)[number] | undefined;
      let newestAt = Number.NEGATIVE_INFINITY;
      for (const cursor of cursors) {
        while (!cursor.done && cursor.index >= cursor.page.length) {
          const { page, size } = await this.#readPage(
            cursor.queue,
            cursor.status,
            cursor.offset,
            cursor.pageSize,
            budget,
          );
          cursor.offset += size;
          cursor.page = page;
          cursor.index = 0;
          cursor.pageSize = FILTER_SCAN_PAGE;
          // a page can hold fewer records than asked (records gone under their ids): only an
          // empty one ends the list
          if (page.length === 0) cursor.done = true;
        }
        // a list that ended has an empty page, so no head
        const head = cursor.page[cursor.index];
        if (head !== undefined && finishedTime(head) > newestAt) {
          newest = cursor;
          newestAt = finishedTime(head);
        }
      }
      if (!newest) break;
      const record = newest.page[newest.index++]!;
      // a record moved between two pages of its list, or between two lists, comes twice
      const key = `${record.queue}\n${record.id}`;
      if (matches(record) && !seen.has(key)) {
        seen.add(key);
        records.push(record);
      }
    }
    return records;
  }

  /**
   * The page of one queue and status at `offset`, of `size` places (cut to what is left of a
   * `budget`, which each record read spends); empty when the budget is spent, `budget.capped`
   * then set if records are left there (looked up with a read of one). The next page starts
   * `size` places on.
   */
  async #readPage(
    queue: string,
    status: JobStatus,
    offset: number,
    size: number,
    budget?: { left: number; capped: boolean },
  ): Promise<{ page: JobRecord[]; size: number }> {
    if (budget === undefined) return { page: await this.#driver.listJobs(queue, status, offset, size), size };
    if (budget.left <= 0) {
      if ((await this.#driver.listJobs(queue, status, offset, 1)).length > 0) budget.capped = true;
      return { page: [], size: 0 };
    }
    const cut = Math.min(size, budget.left);
    const page = await this.#driver.listJobs(queue, status, offset, cut);
    // records read, not places asked: a short list's page (or the empty one ending it) costs
    // what it holds
    budget.left -= page.length;
    return { page, size: cut };
  }

  /**
   * Up to `wanted` records that `matches` in one queue and status, in the driver's order, read
   * a page at a time out of `budget.left` records for the whole list; `budget.capped` is set
   * when the budget ran out before the end. A page can hold fewer records than asked when
   * records expired under their ids, so only an empty page ends the scan. Jobs that move
   * meanwhile (reserved, say) shift the pages: one may be read twice (kept once) or missed.
   */
  async #readMatching(
    queue: string,
    status: JobStatus,
    wanted: number,
    matches: (record: JobRecord) => boolean,
    budget: { left: number; capped: boolean },
  ): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    const seen = new Set<string>();
    for (let offset = 0; ; ) {
      const { page, size } = await this.#readPage(queue, status, offset, FILTER_SCAN_PAGE, budget);
      if (page.length === 0) return records;
      offset += size;
      for (const record of page) {
        if (!matches(record) || seen.has(record.id)) continue;
        seen.add(record.id);
        records.push(record);
        if (records.length >= wanted) return records;
      }
    }
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
