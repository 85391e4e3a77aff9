/**
 * The context of one attempt of a job: what its `handle()` gets as its second argument (see
 * `JobContext`), and the end of the attempt, after which its progress reports write nothing.
 */
import type { Lease, QueueDriver, ReservedJob } from './driver.js';
import type { JobContext } from './job.js';
import type { JobAbort, SettleObserver } from './job_abort.js';
import type { JobEventPublisher } from './job_events.js';
import { decodeJson, type JsonValue } from './json.js';
import type { Logger } from '../logger.js';
import { jobFields } from './names.js';
import { type ProgressReporter, ProgressSteps } from './progress_steps.js';
import { ProgressWriter } from './progress_writer.js';

/**
 * What `handle()` gets as its second argument. The logger, the AbortSignal, the
 * progress writer and the steps counter are built on first use: most jobs never touch them.
 * Once the attempt has ended its `progress()` and `steps()` write nothing (see {@link end}).
 */
export class AttemptContext implements JobContext, SettleObserver {
  readonly jobId: string;
  readonly queue: string;
  readonly attempt: number;
  readonly maxTries: number;
  readonly #job: ReservedJob;
  readonly #lease: Lease;
  readonly #abort: JobAbort;
  readonly #parentLog: Logger;
  readonly #driver: QueueDriver;
  readonly #progressIntervalMs: number;
  readonly #events: JobEventPublisher | undefined;
  readonly #worker: string;
  #log: Logger | undefined;
  #progress: ProgressWriter | undefined;
  #report: ProgressReporter | undefined;
  #steps: ((total: number) => ProgressSteps) | undefined;
  /** `handle()`'s promise has settled: a progress write reported from now on is late. */
  #settled = false;
  /** The attempt has ended: reports are ignored. */
  #ended = false;
  /** The last value is being written as the attempt ends: that write is not late. */
  #ending = false;
  #toldLate = false;

  constructor(
    job: ReservedJob,
    lease: Lease,
    abort: JobAbort,
    maxTries: number,
    log: Logger,
    driver: QueueDriver,
    progressIntervalMs: number,
    events: JobEventPublisher | undefined,
    worker: string,
  ) {
    this.jobId = job.id;
    this.queue = job.queue;
    this.attempt = job.attempt;
    this.maxTries = maxTries;
    this.#job = job;
    this.#lease = lease;
    this.#abort = abort;
    this.#parentLog = log;
    this.#driver = driver;
    this.#progressIntervalMs = progressIntervalMs;
    this.#events = events;
    this.#worker = worker;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get log(): Logger {
    const job = this.#job;
    this.#log ??= this.#parentLog.child(jobFields(job));
    return this.#log;
  }

  /**
   * A bound function, so `const { progress } = context` works; built on first access, as
   * a function per job costs measurable time at tens of thousands of jobs a second.
   */
  get progress(): ProgressReporter {
    this.#report ??= (percent: number, message?: string, data?: JsonValue): void => {
      if (this.#ended) {
        this.#late();
        return;
      }
      this.#progress ??= new ProgressWriter(
        (value, text, stored) => this.#writeProgress(value, text, stored),
        this.#progressIntervalMs,
      );
      this.#progress.report(percent, message, data);
    };
    return this.#report;
  }

  /** A bound function as well, built on first access. */
  get steps(): (total: number) => ProgressSteps {
    this.#steps ??= (total: number): ProgressSteps => new ProgressSteps(total, this.progress);
    return this.#steps;
  }

  /**
   * Stores a progress value and, once stored (the lease still held), publishes it. A write waits
   * one microtask first, so a report made in a microtask queued before `handle()` returned (which
   * runs before the worker can see it return) is found late and dropped, not stored over the
   * finished attempt's progress while its completion waits to be sent.
   */
  #writeProgress(progress: number, message: string | null, data: string | null): Promise<void> {
    if (this.#ending) return this.#store(progress, message, data);
    return Promise.resolve().then(() => {
      if (!this.#settled) return this.#store(progress, message, data);
      this.#late();
      return undefined;
    });
  }

  async #store(progress: number, message: string | null, data: string | null): Promise<void> {
    if (await this.#driver.progress(this.#lease, progress, message, data)) {
      const decoded = data && decodeJson(data);
      this.#events?.progress(this.#job, this.#worker, progress, message, decoded, data?.length ?? 0);
    }
  }

  /** A progress report after the attempt ended: dropped, said once at debug level. */
  #late(): void {
    if (this.#toldLate) return;
    this.#toldLate = true;
    this.log.debug(
      { event: 'job.progress_after_end' },
      'progress reported after handle() settled: not written (the attempt has ended)',
    );
  }

  /** `handle()`'s promise has settled (told by `untilAborted`, before the worker goes on). */
  settled(): void {
    this.#settled = true;
  }

  /**
   * Ends the attempt: writes the last progress value still waiting for its interval, and from
   * then on `progress()` and `steps()` write nothing. A handler left running (it ignored a
   * timeout or a cancel) or a timer it set cannot change the progress of a finished attempt.
   */
  end(): void {
    this.#settled = true;
    this.#ending = true;
    try {
      this.#progress?.flush();
    } finally {
      this.#ending = false;
      this.#ended = true;
    }
  }
}
