/**
 * The failed-jobs store as operators see it (`queue:failed`, `queue:retry`,
 * `queue:forget`, `queue:flush`, `queue:prune-failed`): one view over the failed
 * records of every queue, addressed by job id.
 */
import { JobNotFoundError } from '../errors.js';
import { groupBy } from '../support/group_by.js';
import type { JobRecord, QueueDriver, RetriedJob } from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { findRecord, queuesToSearch } from './job_lookup.js';

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
   * Puts failed jobs back in their queues with attempts reset, announcing each as `queued`;
   * returns how many. Every id is looked up first (an id given twice counts once): when one is
   * not a failed job, it throws `E_JOB_NOT_FOUND` naming every such id and retries none.
   */
  async retry(ids: readonly string[] | 'all', queue?: string): Promise<number> {
    // each batch is announced as it moves, before workers can take it far: a batch announced
    // after later ones moved could reach listeners after its jobs ran
    const announcer = (name: string) => (moved: readonly RetriedJob[]) => {
      if (!this.#events) return;
      this.#events.queued(moved.map((job) => ({ ...job, queue: name })));
      this.#events.flush();
    };
    let total = 0;
    if (ids === 'all') {
      for (const name of await queuesToSearch(this.#driver, queue))
        total += await this.#driver.retryFailed(name, { all: true }, announcer(name));
      return total;
    }
    const byQueue = await this.#findAll(ids, queue, 'retried');
    for (const [name, found] of byQueue)
      total += await this.#driver.retryFailed(name, { ids: found }, announcer(name));
    return total;
  }

  /**
   * Deletes failed records by id; returns how many. Like {@link retry}, it looks every id up
   * first and deletes none when one is not a failed job (`E_JOB_NOT_FOUND` naming them all).
   */
  async forget(ids: readonly string[], queue?: string): Promise<number> {
    const byQueue = await this.#findAll(ids, queue, 'deleted');
    let total = 0;
    for (const [name, found] of byQueue) total += await this.#driver.removeFailed(name, { ids: found });
    return total;
  }

  /** The ids of failed jobs by queue, each id once; throws `E_JOB_NOT_FOUND` naming every id not found. */
  async #findAll(
    ids: readonly string[],
    queue: string | undefined,
    action: 'retried' | 'deleted',
  ): Promise<Map<string, string[]>> {
    const unique = [...new Set(ids)];
    const records = await Promise.all(
      unique.map((id) => findRecord(this.#driver, id, queue, (found) => found.status === 'failed')),
    );
    const missing = unique.filter((_, index) => records[index] === undefined);
    if (missing.length > 0) {
      const which =
        missing.length === 1
          ? `no failed job has id ${missing[0]}`
          : `no failed jobs have ids ${missing.join(', ')}`;
      throw new JobNotFoundError(
        `${which}${queue ? ` in queue "${queue}"` : ''}, so no job was ${action}: ` +
          'list them with `npx topiq queue:failed`',
      );
    }
    const byQueue = groupBy(records as JobRecord[], (record) => record.queue);
    return new Map([...byQueue].map(([name, found]) => [name, found.map((record) => record.id)]));
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
