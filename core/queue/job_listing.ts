/**
 * The reads behind `job:list` (`JobManager.listPage`): which lists of records it reads, in
 * what order and how much of each. A job that moves on while they are read (queued, reserved,
 * finished) is still listed, the lists it moves into being read again after the others, and
 * only under the status it has; docs/lifecycle.md says what one listing can still miss.
 */
import { InvalidOptionError } from '../errors.js';
import {
  FINISHED_STATUSES,
  JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  type QueueDriver,
} from './driver.js';
import { assertOwner } from './job_labels.js';
import { queuesToSearch } from './job_lookup.js';
import { assertJobName, LISTED_NAME_HINT } from './names.js';

/** Filters of `JobManager.list`. */
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

/** The largest `limit` `JobManager.list` takes (a list reads at most one record more). */
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

/** The statuses of jobs not finished, in the order they are listed. */
const ACTIVE_STATUSES: readonly JobStatus[] = ['running', 'queued', 'delayed', 'pending'];
const LISTED_STATUSES: readonly JobStatus[] = [
  ...ACTIVE_STATUSES,
  'failed',
  'completed',
  'cancelled',
  'expired',
];

/** The active statuses jobs move into, in the direction they move: read again for them. */
const CAUGHT_UP: readonly JobStatus[] = ['queued', 'running'];

/** What is left of the {@link MAX_FILTER_SCAN} records a filtered list may read. */
interface Budget {
  left: number;
  capped: boolean;
}

/**
 * A first page of each of `lists` lists small enough that the first pages of many lists leave
 * most of {@link MAX_FILTER_SCAN} for the newest records.
 */
function firstScanPage(lists: number): number {
  return Math.max(1, Math.min(FILTER_SCAN_PAGE, Math.floor(MAX_FILTER_SCAN / (2 * lists))));
}

/** A finished record's time for ordering; one without (a completion time unknown) sorts last. */
function finishedTime(record: JobRecord): number {
  return record.finishedAt ?? 0;
}

/** Adds `record` to `listed`; false when it was there (a job read twice is listed once). */
function firstSight(listed: Set<string>, record: JobRecord): boolean {
  const key = `${record.queue}\n${record.id}`;
  if (listed.has(key)) return false;
  listed.add(key);
  return true;
}

/** Reads the records of `JobManager.listPage`; see there for the order and the filters. */
export class JobListing {
  readonly #driver: QueueDriver;

  constructor(driver: QueueDriver) {
    this.#driver = driver;
  }

  async page(options: JobListOptions): Promise<{ records: JobRecord[]; more: boolean }> {
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
    // A job that changes status between two reads (queued, then running) is listed once, as
    // it was first read.
    const listed = new Set<string>();
    // one more than the limit, to tell whether there are more
    const reading = limit + 1;
    const budget: Budget = { left: MAX_FILTER_SCAN, capped: false };
    const active = statuses.filter((status) => !FINISHED_STATUSES.has(status));
    const records = await this.#readActive(active, queues, reading, matches, budget, listed);
    // finished ones of every finished status and queue together, newest first: a limit cuts off
    // the oldest of them, not every record of the statuses that come last. Read after the
    // others: a job that finishes meanwhile is found here.
    const finished = statuses.filter((status) => FINISHED_STATUSES.has(status));
    const lists = finished.flatMap((status) => queues.map((queue) => ({ queue, status })));
    if (lists.length > 0 && records.length < reading) {
      const wanted = reading - records.length;
      records.push(
        ...(matches === undefined
          ? await this.#mergeFinished(lists, wanted, () => true, listed, Math.min(wanted, FILTER_SCAN_PAGE))
          : await this.#mergeFinished(lists, wanted, matches, listed, firstScanPage(lists.length), budget)),
      );
    }
    return { records: records.slice(0, limit), more: records.length > limit || budget.capped };
  }

  /**
   * The records of the active statuses, in the order listed: running, queued, delayed and
   * pending, each across `queues`, read in that order until `reading` are found. A job can move
   * on between two reads to a list read already (reserved, promoted, released): when the page
   * still has room, the lists jobs move into, queued then running, are read again from the start
   * for records not listed yet, in the direction jobs move, so a job that moves on meanwhile
   * reaches a list read later (a finished one at the latest). A record found so is listed with
   * its status's records, in their order. With a filter only the running lists are read again
   * (out of the budget, the caught-up records after the others): the queued ones may be long,
   * and the finished lists need the rest of the budget. With one status there is no other list
   * for a job to move to, and no second read.
   */
  async #readActive(
    active: readonly JobStatus[],
    queues: readonly string[],
    reading: number,
    matches: ((record: JobRecord) => boolean) | undefined,
    budget: Budget,
    listed: Set<string>,
  ): Promise<JobRecord[]> {
    const lists = active.flatMap((status) =>
      queues.map((queue) => ({ queue, status, records: [] as JobRecord[] })),
    );
    const scan = matches === undefined ? undefined : budget;
    let found = 0;
    for (const list of lists) {
      if (found >= reading) break;
      list.records = await this.#readList(list, reading - found, matches, scan, listed);
      found += list.records.length;
    }
    for (const status of active.length > 1 ? CAUGHT_UP : []) {
      // with a filter the queued lists are not read again: they may be long (read 500 a call out
      // of the budget), and the finished lists after them need what is left of it; the running
      // ones are as short as the workers' concurrency
      if (matches !== undefined && status !== 'running') continue;
      for (const list of lists) {
        if (found >= reading || budget.capped) break;
        if (list.status !== status) continue;
        if (matches === undefined) {
          found += await this.#catchUp(list, reading - found, listed);
        } else {
          const caught = await this.#readList(list, reading - found, matches, budget, listed);
          list.records.push(...caught);
          found += caught.length;
        }
      }
    }
    return lists.flatMap((list) => list.records);
  }

  /**
   * Reads `list` again from the start, in one call, for up to `wanted` records not listed yet
   * (jobs that moved into it after it was read), and puts them among its records in the list's
   * order: each before the first record listed already that follows it there. Returns how many.
   */
  async #catchUp(
    list: { queue: string; status: JobStatus; records: JobRecord[] },
    wanted: number,
    listed: Set<string>,
  ): Promise<number> {
    const { page, read, size } = await this.#readPage(
      list.queue,
      list.status,
      0,
      list.records.length + wanted,
    );
    const caught: JobRecord[] = [];
    for (const record of page) {
      if (caught.length >= wanted) break;
      if (firstSight(listed, record)) caught.push(record);
    }
    if (caught.length === 0) return 0;
    const place = new Map(page.map((record, index) => [record.id, index]));
    // a listed record not read again left the list since, and keeps its place among the others;
    // unless the read came back full: then jobs that moved in ahead may have pushed it past it
    const full = read >= size;
    const merged: JobRecord[] = [];
    const pushedOut: JobRecord[] = [];
    let next = 0;
    for (const record of list.records) {
      const at = place.get(record.id);
      if (at !== undefined) {
        while (next < caught.length && place.get(caught[next]!.id)! < at) merged.push(caught[next++]!);
      } else if (full) {
        pushedOut.push(record);
        continue;
      }
      merged.push(record);
    }
    merged.push(...caught.slice(next), ...pushedOut);
    list.records = merged;
    return caught.length;
  }

  /**
   * Up to `wanted` records of one queue and status not listed yet, in the driver's order. With
   * a filter, only those that `matches`, read a page at a time out of `budget.left` records
   * (`budget.capped` set when it ran out before the end); a page can then hold fewer records
   * than asked (records expired under their ids, or moved on while read), so only an empty page
   * ends the scan. Without one, one read of `wanted` records, read further only when records
   * that moved on left a full page short. Jobs that leave the list between two reads move the ones after them
   * up: a job that stays may then be skipped (one moving in may be read twice, kept once). Only
   * a list read in more than one call is exposed to that: see docs/lifecycle.md.
   */
  async #readList(
    list: { queue: string; status: JobStatus },
    wanted: number,
    matches: ((record: JobRecord) => boolean) | undefined,
    budget: Budget | undefined,
    listed: Set<string>,
  ): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    for (let offset = 0; records.length < wanted; ) {
      const asked = budget ? FILTER_SCAN_PAGE : wanted - records.length;
      const { page, read, size, next } = await this.#readPage(list.queue, list.status, offset, asked, budget);
      for (const record of page) {
        if (records.length >= wanted) break;
        if ((matches === undefined || matches(record)) && firstSight(listed, record)) records.push(record);
      }
      if (read === 0 || (budget === undefined && read < size)) break;
      offset += next;
    }
    return records;
  }

  /**
   * Up to `wanted` finished records not in `listed` that `matches`, newest first across
   * `lists` (each a queue and a finished status, read newest first): the lists' pages are
   * merged as they are read, so only a list whose page was used up is read further, and a
   * `budget` (when filtering) goes to the newest records of all of them, not to the first
   * list's. The first page of each list holds `firstPage` places, later ones
   * {@link FILTER_SCAN_PAGE}. Of records finished at the same time, the one of the list given
   * first comes first. `budget.capped` is set when the budget ran out while a list still held
   * records.
   */
  async #mergeFinished(
    lists: readonly { queue: string; status: JobStatus }[],
    wanted: number,
    matches: (record: JobRecord) => boolean,
    listed: Set<string>,
    firstPage: number,
    budget?: Budget,
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
    while (records.length < wanted) {
      let newest: (typeof cursors)[number] | undefined;
      let newestAt = Number.NEGATIVE_INFINITY;
      for (const cursor of cursors) {
        while (!cursor.done && cursor.index >= cursor.page.length) {
          const { page, read, next } = await this.#readPage(
            cursor.queue,
            cursor.status,
            cursor.offset,
            cursor.pageSize,
            budget,
          );
          cursor.offset += next;
          cursor.page = page;
          cursor.index = 0;
          cursor.pageSize = FILTER_SCAN_PAGE;
          // a page can hold fewer records than asked (records gone under their ids, or moved
          // on): only an empty one ends the list
          if (read === 0) cursor.done = true;
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
      // a record moved between two pages of its list, or between two lists, or listed among
      // the running ones before it finished, comes twice
      if (matches(record) && firstSight(listed, record)) records.push(record);
    }
    return records;
  }

  /**
   * The records of one queue and status at `offset` that still have that status (one that
   * changed status while read is listed in the list it moved to), of `size` places (cut to what
   * is left of a `budget`, which each record read spends); empty when the budget is spent,
   * `budget.capped` then set if records are left there (looked up with a read of one). `read`
   * is how many records the driver gave; the next page starts `next` places on: `size`, less
   * the records left out for their status, since the jobs after one that moved out of the list
   * moved up a place (one read twice is listed once).
   */
  async #readPage(
    queue: string,
    status: JobStatus,
    offset: number,
    size: number,
    budget?: Budget,
  ): Promise<{ page: JobRecord[]; read: number; size: number; next: number }> {
    if (budget !== undefined && budget.left <= 0) {
      if ((await this.#driver.listJobs(queue, status, offset, 1)).length > 0) budget.capped = true;
      return { page: [], read: 0, size: 0, next: 0 };
    }
    const cut = budget === undefined ? size : Math.min(size, budget.left);
    const found = await this.#driver.listJobs(queue, status, offset, cut);
    // records read, not places asked: a short list's page (or the empty one ending it) costs
    // what it holds
    if (budget !== undefined) budget.left -= found.length;
    const page = found.filter((record) => record.status === status);
    // a page with none left goes on a full page, so records that keep another status (a
    // damaged set) cannot hold the reader in place
    const next = page.length === 0 ? cut : cut - (found.length - page.length);
    return { page, read: found.length, size: cut, next };
  }
}
