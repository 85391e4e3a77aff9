/**
 * Reserves jobs from a worker's queues in strict order: a later queue is asked only for the
 * places the earlier ones left. On the way it logs and announces what each reserve call changed
 * (jobs come due, reclaimed from dead workers, cancelled, expired, failed for good).
 */
import { RedisWrongTypeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffMs } from '../support/retry.js';
import type { JobRecord, QueueDriver, ReserveResult, ReservedJob } from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { jobFields } from './names.js';

/** What a {@link StrictReserve} works with. */
export interface StrictReserveSettings {
  driver: QueueDriver;
  /** In strict priority order. */
  queues: readonly string[];
  /** The reserving worker's name, stored on the records. */
  worker: string;
  leaseMs: number;
  /** Tries for jobs dispatched without `maxTries`. */
  defaultMaxTries: number;
  log: Logger;
  events: JobEventPublisher | undefined;
  /** Counts the jobs a reserve hands out (towards `--max-jobs`) before its caller sees them. */
  reserved(count: number): void;
  /** Runs the failed() hooks of a job a reserve call failed for good (its tries used up by dead workers). */
  abandoned(record: JobRecord): void;
}

/**
 * What a reserve brought: the jobs, when the earliest delayed job or lease deadline of the queues
 * comes due (null: none known), and whether the calls also took jobs off a queue without handing
 * them out (expired, or failed for good): they used up places, so no job back does not mean the
 * queues are empty.
 */
export interface ReserveBatch {
  jobs: ReservedJob[];
  wakeAt: number | null;
  settled: boolean;
}

export class StrictReserve {
  readonly #settings: StrictReserveSettings;
  /**
   * Queues whose reserves Redis refused (a key of theirs replaced by hand): how many times in a
   * row, and when to ask again (the worker's backoff, `backoffMs`: 200 ms, doubling to 5 s).
   */
  readonly #refused = new Map<string, { times: number; until: number }>();

  constructor(settings: StrictReserveSettings) {
    this.#settings = settings;
  }

  /** Reserves up to `free` jobs from the queues in their order. */
  async reserve(free: number): Promise<ReserveBatch> {
    const { driver, worker, leaseMs, defaultMaxTries, log } = this.#settings;
    const jobs: ReservedJob[] = [];
    let wakeAt: number | null = null;
    let settled = false;
    let refused = 0;
    queues: for (const queue of this.#settings.queues) {
      const refusal = this.#refused.get(queue);
      if (
        refusal !== undefined &&
        performance.now() < refusal.until &&
        ++refused < this.#settings.queues.length
      ) {
        continue; // left alone for now: the later queues are served
      }
      for (let count = free - jobs.length; count > 0; count = free - jobs.length) {
        let result: ReserveResult;
        try {
          result = await driver.reserve(queue, { count, leaseMs, worker, defaultMaxTries });
        } catch (error) {
          // A key of this queue replaced by hand refuses its calls until it is mended: the
          // later queues are served meanwhile (when every queue refuses, the caller backs off)
          if (error instanceof RedisWrongTypeError) {
            const times = (this.#refused.get(queue)?.times ?? 0) + 1;
            const wait = backoffMs(times);
            this.#refused.set(queue, { times, until: performance.now() + wait });
            if (++refused < this.#settings.queues.length) {
              // logged at the first refusal and every 100th
              if (times % 100 === 1) {
                log.error(
                  { event: 'worker.reserve_failed', err: error, queue, times },
                  'could not reserve from a queue (a key of it holds another type); its later queues are served meanwhile, and it is asked again every few seconds',
                );
              }
              continue queues;
            }
          }
          // Keep what earlier calls gave (they are leased to us); report the error only if nothing came.
          if (jobs.length === 0) throw error;
          log.error({ event: 'worker.reserve_failed', err: error, queue }, 'could not reserve from a queue');
          break queues;
        }
        if (this.#refused.delete(queue)) {
          log.info(
            { event: 'worker.reserve_answered', queue },
            'a queue whose reserves were refused is served again',
          );
        }
        jobs.push(...result.jobs);
        this.#settle(queue, result);
        if (result.wakeAt !== null && (wakeAt === null || result.wakeAt < wakeAt)) wakeAt = result.wakeAt;
        const usedUp = result.abandoned.length + result.expired.length;
        if (usedUp > 0) settled = true;
        // Jobs the call took off the queue without handing them out (expired, or failed for
        // good) used up places: the queue may still hold ready jobs, which come before any
        // job of a later queue (strict order), so it is asked again for the places left.
        if (usedUp === 0 || result.jobs.length >= count) break;
      }
    }
    this.#settings.reserved(jobs.length);
    return { jobs, wakeAt, settled };
  }

  /** Logs and announces what a reserve call on `queue` changed, and runs the failed() hooks of the jobs it failed. */
  #settle(queue: string, result: ReserveResult): void {
    const { log, events } = this.#settings;
    // first: the call made these changes before it expired or failed any job it popped, and
    // a job come due may be one of those
    for (const { id, name, attempt, status, reclaimed } of result.changed) {
      if (status === 'cancelled') {
        // its worker stopped renewing the lease after the cancel was asked for
        log.info({ event: 'job.cancelled', ...jobFields({ id, name, queue, attempt }) }, 'job cancelled');
      } else if (reclaimed) {
        log.warn(
          { event: 'job.reclaimed', ...jobFields({ id, name, queue, attempt }) },
          'job back in its queue: its worker stopped renewing its lease (crashed?); attempt is the tries it used',
        );
      }
      events?.emit({ id, name, queue }, status, attempt);
    }
    // kept, so a stop waits for their failed() hooks, up to its grace period
    for (const record of result.abandoned) this.#settings.abandoned(record);
    for (const expired of result.expired) {
      log.info(
        { event: 'job.expired', jobId: expired.id, job: expired.name, queue, attempt: 0 },
        'job expired unstarted',
      );
      events?.emit({ ...expired, queue }, 'expired', 0);
    }
  }
}
