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

/**
 * The lease of a job the fake runs: one no test clock passes (about 71,000 years), as a
 * worker's lease is renewed while its job runs and the fake renews none. Moving a fake's
 * clock on by hours, to make a delayed job due, must not hand a running job out again.
 */
const FAKE_LEASE_MS = 2 ** 51;

/** Runs the jobs of a recording driver one at a time, in the test's process. */
export class FakeQueueRunner {
  readonly #driver: RecordingQueueDriver;
  readonly #registry: JobRegistry;
  readonly #log: Logger;
  readonly #jobErrors: JobErrorMode;
  /** The context's `maxTries` for a job that sets none. */
  readonly #tries: number;
  /** Index of the first dispatched job not yet looked at, or not yet passed. */
  #cursor = 0;
  /**
   * Indexes below the cursor of jobs that could not run when it passed them but may later
   * (held, delayed, running, failed), in dispatch order. Kept apart so that one such job does
   * not make every later `runNext` look up every job dispatched after it.
   */
  readonly #parked: number[] = [];

  constructor(
    driver: RecordingQueueDriver,
    registry: JobRegistry,
    log: Logger,
    jobErrors: JobErrorMode,
    tries: number,
  ) {
    this.#driver = driver;
    this.#registry = registry;
    this.#log = log;
    this.#jobErrors = jobErrors;
    this.#tries = tries;
  }

  /** Runs the next ready job; undefined when none is ready. */
  async runNext(options: RunOptions = {}): Promise<RunOutcome | undefined> {
    // the queues whose reserves came back empty with nothing changed since the last that did change
    const emptyIn = new Set<string>();
    for (let queue = await this.#nextReadyQueue(); queue; queue = await this.#nextReadyQueue()) {
      const { jobs, expired, changed, abandoned } = await this.#driver.reserve(queue, {
        count: 1,
        leaseMs: FAKE_LEASE_MS,
        worker: 'queue-fake',
        defaultMaxTries: 1,
      });
      const reserved = jobs[0];
      if (!reserved) {
        // it expired as it was reserved, or came due as another was cancelled; or, between the
        // look and the reserve, it was cancelled or another runNext() took it: look again
        const moved = expired.length > 0 || changed.length > 0 || abandoned.length > 0;
        if (moved) emptyIn.clear();
        if (moved || !emptyIn.has(queue)) {
          if (!moved) emptyIn.add(queue);
          continue;
        }
        // never spin: this loop awaits only settled promises, so not even a test timeout would end it
        throw new Error(
          `QueueFake found a job ready in "${queue}" that the driver did not hand out; this is a Topiq bug, please report it`,
        );
      }
      const job = this.#recordOf(reserved.id, reserved.queue);
      const run = await runOneJob(this.#driver, this.#registry, reserved, this.#log, this.#tries);
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

  /**
   * The queue of the oldest dispatched job that is ready to run, if any. Looks first at the
   * parked records (passed by the cursor while they could not run yet), oldest first, then
   * from the cursor on, so the first ready record in dispatch order wins, and each job is
   * looked up a few times in all rather than once per job run after it.
   */
  async #nextReadyQueue(): Promise<string | undefined> {
    const dispatched = this.#driver.dispatched;
    const now = this.#driver.currentTime();
    // a copy: a call running meanwhile (a job's own runNext) may unpark records
    for (const index of [...this.#parked]) {
      const record = dispatched[index]!;
      const status = await this.#statusOf(record, now);
      if (status === 'ready') return record.queue;
      if (status === 'over') {
        const at = this.#parked.indexOf(index);
        if (at >= 0) this.#parked.splice(at, 1);
      }
    }
    while (this.#cursor < dispatched.length) {
      const index = this.#cursor;
      const record = dispatched[index]!;
      // a duplicate added nothing: the record of the job it repeats stands for it
      const status = record.duplicate ? 'over' : await this.#statusOf(record, now);
      if (status === 'ready') return record.queue;
      // another call passed it meanwhile (and parked it, if it had to)
      if (this.#cursor !== index) continue;
      // parked indexes stay in dispatch order: every one is below the cursor
      if (status === 'waiting') this.#parked.push(index);
      this.#cursor = index + 1;
    }
    return undefined;
  }

  /**
   * Whether a dispatched job can run now, may run later (held, delayed, running, or failed and
   * so retryable) or never will again (completed, cancelled, expired, or its record dropped).
   */
  async #statusOf(record: DispatchedJob, now: number): Promise<'ready' | 'waiting' | 'over'> {
    // the stored job, not the dispatch record: an id used again once its first job's record
    // was dropped names the later job, which may be delayed where the first was not
    const stored = await this.#driver.getJob(record.queue, record.id);
    if (stored === undefined) return 'over';
    const { status } = stored;
    if (status === 'queued' || (status === 'delayed' && stored.runAt !== null && stored.runAt <= now)) {
      return 'ready';
    }
    return status === 'completed' || status === 'cancelled' || status === 'expired' ? 'over' : 'waiting';
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
