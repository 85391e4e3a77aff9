/**
 * The failed-jobs store as operators see it (`queue:failed`, `queue:retry`,
 * `queue:forget`, `queue:flush`, `queue:prune-failed`): one view over the failed
 * records of every queue, addressed by job id.
 */
import { JobNotFoundError, JobStateError } from '../errors.js';
import { groupBy } from '../support/group_by.js';
import type { JobRecord, QueueDriver, RetriedJob, RetryFailedOutcome } from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { findRecord, queuesToSearch } from './job_lookup.js';

/** What {@link FailedJobs.retry} did. */
export interface RetryReport {
  /** How many jobs went back to their queues. */
  retried: number;
  /** The job names among them, each once (`queue:retry` warns of those no class is registered for). */
  names: string[];
  /**
   * Ids left failed, their `expiresAt` past: retried, they would only end `expired` unstarted and
   * lose their error. With `'all'` they are passed over; named ids are refused before (`E_JOB_STATE`).
   */
  expired: string[];
  /**
   * Ids named that were no failed job by the time they were moved: another retry or forget got
   * there first (found failed a moment before, so not `E_JOB_NOT_FOUND`).
   */
  missing: string[];
}

/** How many ids an error message names at most (the rest are counted). */
const LISTED_IDS = 50;

/** `ids` as a list for a message, the first {@link LISTED_IDS} of them and a count of the rest. */
export function listIds(ids: readonly string[]): string {
  const more = ids.length > LISTED_IDS ? ` and ${ids.length - LISTED_IDS} more` : '';
  return `${ids.slice(0, LISTED_IDS).join(', ')}${more}`;
}

/**
 * Failed jobs across queues.
 *
 * @example
 * const failed = new FailedJobs(driver, events); // events: to announce retried jobs as queued
 * for (const record of await failed.list()) console.log(record.id, record.error?.message);
 * await failed.retry(['3f1c…']);
 */
export class FailedJobs {
  readonly #driver: QueueDriver;
  readonly #events: JobEventPublisher | undefined;

  constructor(driver: QueueDriver, events?: JobEventPublisher) {
    this.#driver = driver;
    this.#events = events;
  }

  /** Failed records, newest first, from one queue or all. */
  async list(options: { queue?: string; limit?: number } = {}): Promise<JobRecord[]> {
    const limit = options.limit ?? 100;
    const queues = await queuesToSearch(this.#driver, options.queue);
    const lists = await Promise.all(queues.map((queue) => this.#driver.listFailed(queue, 0, limit)));
    return lists
      .flat()
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))
      .slice(0, limit);
  }

  /** The failed record of job `id`; throws `E_JOB_NOT_FOUND` when there is none. */
  async find(id: string, queue?: string): Promise<JobRecord> {
    const record = await findRecord(this.#driver, id, queue, (found) => found.status === 'failed');
    if (record) return record;
    throw new JobNotFoundError(
      `no failed job has id ${id}${queue ? ` in queue "${queue}"` : ''}: list them with \`npx topiq queue:failed\``,
    );
  }

  /**
   * Puts failed jobs back in their queues with attempts reset, announcing each as `queued`, but
   * those whose `expiresAt` has passed: retried, they would only end `expired` unstarted, their
   * error lost. Every id is looked up first (an id given twice counts once): when one is not a
   * failed job, it throws `E_JOB_NOT_FOUND` naming every such id (saying the status of those
   * that are jobs, such as one retried already), and when one is past its `expiresAt`,
   * `E_JOB_STATE` naming them; either way it retries none. With `'all'`, those past their
   * `expiresAt` stay failed and are named in the report.
   */
  async retry(ids: readonly string[] | 'all', queue?: string): Promise<RetryReport> {
    const names = new Set<string>();
    // each batch is announced as it moves, before workers can take it far: a batch announced
    // after later ones moved could reach listeners after its jobs ran
    const announcer = (name: string) => (moved: readonly RetriedJob[]) => {
      for (const job of moved) names.add(job.name);
      if (!this.#events) return;
      this.#events.queued(moved.map((job) => ({ ...job, queue: name })));
      this.#events.flush();
    };
    const outcomes: RetryFailedOutcome[] = [];
    if (ids === 'all') {
      for (const name of await queuesToSearch(this.#driver, queue))
        outcomes.push(await this.#driver.retryFailed(name, { all: true }, announcer(name)));
    } else {
      const byQueue = await this.#findAll(ids, queue, 'retried');
      await this.#refuseExpired([...byQueue.values()].flat());
      for (const [name, found] of byQueue)
        outcomes.push(
          await this.#driver.retryFailed(name, { ids: found.map((record) => record.id) }, announcer(name)),
        );
    }
    return {
      retried: outcomes.reduce((sum, outcome) => sum + outcome.retried, 0),
      names: [...names],
      expired: outcomes.flatMap((outcome) => outcome.expired),
      missing: outcomes.flatMap((outcome) => outcome.missing),
    };
  }

  /** Throws `E_JOB_STATE` naming the records whose `expiresAt` has passed (on the store's clock). */
  async #refuseExpired(records: readonly JobRecord[]): Promise<void> {
    if (!records.some((record) => record.expiresAt !== null)) return;
    const now = await this.#driver.now();
    const expired = records.filter((record) => record.expiresAt !== null && record.expiresAt <= now);
    if (expired.length === 0) return;
    const which =
      expired.length === 1
        ? `job ${expired[0]!.id} is past its expiresAt (${new Date(expired[0]!.expiresAt!).toISOString()})`
        : `jobs ${listIds(expired.map((record) => record.id))} are past their expiresAt`;
    throw new JobStateError(
      `${which}, so no job was retried: a retry would only mark it expired and lose its error. ` +
        'Dispatch a new job instead (`npx topiq job:dispatch <Name> --payload ...`), or delete the failed one ' +
        '(`npx topiq queue:forget <id>`)',
    );
  }

  /**
   * Deletes failed records by id; returns how many. Like {@link retry}, it looks every id up
   * first and deletes none when one is not a failed job (`E_JOB_NOT_FOUND` naming them all).
   */
  async forget(ids: readonly string[], queue?: string): Promise<number> {
    const byQueue = await this.#findAll(ids, queue, 'deleted');
    let total = 0;
    for (const [name, found] of byQueue)
      total += await this.#driver.removeFailed(name, { ids: found.map((record) => record.id) });
    return total;
  }

  /**
   * The failed records of `ids` by queue, each id once; throws `E_JOB_NOT_FOUND` naming every id
   * that is no failed job, with the status of those that are jobs.
   */
  async #findAll(
    ids: readonly string[],
    queue: string | undefined,
    action: 'retried' | 'deleted',
  ): Promise<Map<string, JobRecord[]>> {
    const unique = [...new Set(ids)];
    // listed once, not once per id (each listing is a round trip)
    const queues = await queuesToSearch(this.#driver, queue);
    const failed = (found: JobRecord) => found.status === 'failed';
    const records = await Promise.all(
      unique.map((id) => findRecord(this.#driver, id, queue, failed, queues)),
    );
    const missing = unique.filter((_, index) => records[index] === undefined);
    if (missing.length > 0) throw await this.#notFailed(missing, queue, queues, action);
    return groupBy(records as JobRecord[], (record) => record.queue);
  }

  /** The `E_JOB_NOT_FOUND` for `ids`, none a failed job: saying what those that are jobs are. */
  async #notFailed(
    ids: readonly string[],
    queue: string | undefined,
    queues: readonly string[],
    action: string,
  ): Promise<JobNotFoundError> {
    // the first few only: each costs a lookup in every queue
    const statuses = await Promise.all(
      ids
        .slice(0, LISTED_IDS)
        .map((id) => findRecord(this.#driver, id, queue, undefined, queues).catch(() => undefined)),
    );
    const others = statuses.filter((record): record is JobRecord => record !== undefined);
    const none = ids.filter((id) => !others.some((record) => record.id === id));
    const parts: string[] = [];
    if (none.length === 1) parts.push(`no failed job has id ${none[0]}`);
    else if (none.length > 1) parts.push(`no failed jobs have ids ${listIds(none)}`);
    for (const record of others) {
      const hint = record.status === 'queued' || record.status === 'delayed' ? ' (retried already?)' : '';
      parts.push(`job ${record.id} is ${record.status}, not failed${hint}`);
    }
    return new JobNotFoundError(
      `${parts.join('; ')}${queue ? ` in queue "${queue}"` : ''}, so no job was ${action}: ` +
        'list the failed ones with `npx topiq queue:failed`',
    );
  }

  /** Deletes every failed record (of one queue or all); returns how many. */
  async flush(queue?: string): Promise<number> {
    let total = 0;
    for (const name of await queuesToSearch(this.#driver, queue))
      total += await this.#driver.removeFailed(name, { all: true });
    return total;
  }

  /** Deletes failed records older than `hours`; returns how many. */
  async prune(hours: number, queue?: string): Promise<number> {
    // on the clock that stamped the failures (Redis's), not this process's
    const failedBefore = (await this.#driver.now()) - hours * 3600_000;
    let total = 0;
    for (const name of await queuesToSearch(this.#driver, queue))
      total += await this.#driver.removeFailed(name, { failedBefore });
    return total;
  }
}
