/**
 * How `QueueFake` runs jobs: picks the queue of the oldest ready job in dispatch order,
 * reserves from it (so the driver's priority order holds within a queue), and runs one
 * attempt with {@link runOneJob}. Kept apart from `QueueFake` so that class stays about
 * recording and asserting.
 */
import type { Logger } from '../logger.js';
import type { JobRegistry } from '../queue/registry.js';
import type { DispatchedJob, RecordingQueueDriver } from './recording_queue_driver.js';
import { type JobRunResult, runOneJob } from './run_one_job.js';

/** What to do when a job run by `runNext()`/`runAll()` throws. */
export type JobErrorMode = 'throw' | 'record';

/** Options of one `runNext()` call. */
export interface RunOptions {
  /** Overrides the fake's `jobErrors` for this call. */
  jobErrors?: JobErrorMode;
}

/** Options of one `runAll()` call. */
export interface RunAllOptions extends RunOptions {
  /** Most jobs to run before giving up with `QueueFakeLimitError` (default 1000). */
  maxJobs?: number;
}

/**
 * A job the fake ran and how it ended. `cancelled`: its cancel was requested while it ran
 * and it stopped with `error` (`E_JOB_CANCELLED` when its signal stopped it); a cancel is
 * not a failure, so it is returned, never thrown, and `failed()` does not run.
 */
export type RunOutcome = JobRunResult & { job: DispatchedJob };

/**
 * Thrown by `runAll()` when jobs keep arriving past its `maxJobs` limit.
 *
 * @example
 * await expect(fake.runAll({ maxJobs: 50 })).rejects.toThrow(QueueFakeLimitError);
 */
export class QueueFakeLimitError extends Error {
  override name = 'QueueFakeLimitError';
}

/** Runs the jobs of a recording driver one at a time, in the test's process. */
export class FakeQueueRunner {
  readonly #driver: RecordingQueueDriver;
  readonly #registry: JobRegistry;
  readonly #log: Logger;
  readonly #jobErrors: JobErrorMode;
  /** Index of the first dispatched job that may still be waiting to run. */
  #cursor = 0;

  constructor(driver: RecordingQueueDriver, registry: JobRegistry, log: Logger, jobErrors: JobErrorMode) {
    this.#driver = driver;
    this.#registry = registry;
    this.#log = log;
    this.#jobErrors = jobErrors;
  }

  /** Runs the next ready job; undefined when none is ready. */
  async runNext(options: RunOptions = {}): Promise<RunOutcome | undefined> {
    for (let queue = await this.#nextReadyQueue(); queue; queue = await this.#nextReadyQueue()) {
      const { jobs, expired, changed, abandoned } = await this.#driver.reserve(queue, {
        count: 1,
        leaseMs: 60 * 60 * 1000,
        worker: 'queue-fake',
        defaultMaxTries: 1,
      });
      const reserved = jobs[0];
      if (!reserved) {
        // it expired as it was reserved, or came due as another was cancelled: look again
        if (expired.length > 0 || changed.length > 0 || abandoned.length > 0) continue;
        // never spin: this loop awaits only settled promises, so not even a test timeout would end it
        throw new Error(
          `QueueFake found a job ready in "${queue}" that the driver did not hand out; this is a Topiq bug, please report it`,
        );
      }
      const job = this.#recordOf(reserved.id, reserved.queue);
      const run = await runOneJob(this.#driver, this.#registry, reserved, this.#log);
      // a failure is thrown unless recorded; a cancel is not a failure, so it is returned
      if (run.status === 'failed' && (options.jobErrors ?? this.#jobErrors) === 'throw') throw run.error;
      return { ...run, job };
    }
    return undefined;
  }

  /** Runs ready jobs until none is left; throws `QueueFakeLimitError` past `maxJobs`. */
  async runAll(options: RunAllOptions = {}): Promise<RunOutcome[]> {
    const { maxJobs = 1000, ...runOptions } = options;
    const outcomes: RunOutcome[] = [];
    while (outcomes.length < maxJobs) {
      const outcome = await this.runNext(runOptions);
      if (!outcome) return outcomes;
      outcomes.push(outcome);
    }
    if (await this.#nextReadyQueue()) {
      throw new QueueFakeLimitError(
        `runAll ran ${maxJobs} jobs and more are still ready: is a job dispatching itself? ` +
          `Raise runAll({ maxJobs }) if the test really needs more.`,
      );
    }
    return outcomes;
  }

  /** The queue of the oldest dispatched job that is ready to run, if any. */
  async #nextReadyQueue(): Promise<string | undefined> {
    const dispatched = this.#driver.dispatched;
    const now = this.#driver.currentTime();
    let advancing = true;
    for (let index = this.#cursor; index < dispatched.length; index++) {
      const record = dispatched[index]!;
      if (record.duplicate) {
        if (advancing) this.#cursor = index + 1;
        continue;
      }
      // the stored job, not the dispatch record: an id used again once its first job's record
      // was dropped names the later job, which may be delayed where the first was not
      const stored = await this.#driver.getJob(record.queue, record.id);
      const status = stored?.status;
      if (status === 'queued' || (status === 'delayed' && stored!.runAt !== null && stored!.runAt <= now)) {
        return record.queue;
      }
      // Jobs that can never run again let the cursor pass; failed ones stay in view (retryable).
      const over = status === undefined || status === 'completed' || status === 'cancelled';
      if (advancing && (over || status === 'expired')) this.#cursor = index + 1;
      else advancing = false;
    }
    return undefined;
  }

  /** The dispatch record of a reserved job (every push is recorded, so there is one). */
  #recordOf(id: string, queue: string): DispatchedJob {
    const { dispatched } = this.#driver;
    for (let index = dispatched.length - 1; index >= 0; index--) {
      const record = dispatched[index]!;
      if (record.id === id && record.queue === queue && !record.duplicate) return record;
    }
    throw new Error(`QueueFake has no dispatch record of job ${id} in "${queue}"`);
  }
}
