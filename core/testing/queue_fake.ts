/**
 * `QueueFake`: Laravel's `Queue::fake()` for Topiq. Installing one binds a dispatcher over
 * a recording in-memory driver as the target of static `SomeJob.dispatch()`, so a test can
 * assert what was dispatched, then run the jobs it chooses, in the test's own process.
 *
 * `Queue.fake()` is spelled `QueueFake.install()`: the `Queue` facade sits under `Job`, and
 * a `fake` method there would make the queue engine import its own test support (a cycle).
 */
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { Dispatcher } from '../queue/dispatcher.js';
import { DEFAULT_TRIES } from '../queue/retry_policy.js';
import type { MemoryQueueDriverOptions } from '../queue/drivers/memory/index.js';
import { type JobClass, jobNameOf, type PayloadOf } from '../queue/job.js';
import { Queue } from '../queue/queue_facade.js';
import { JobRegistry } from '../queue/registry.js';
import { describeDispatched, QueueAssertionError } from './queue_assertion_error.js';
import { type DispatchedJob, RecordingQueueDriver } from './recording_queue_driver.js';
import {
  FakeQueueRunner,
  type JobErrorMode,
  type RunAllOptions,
  type RunOptions,
  type RunOutcome,
} from './fake_queue_runner.js';

/** Options of {@link QueueFake.install}. */
export interface QueueFakeOptions {
  /** Job classes the fake may run (e.g. `jobs` from app/jobs/index.ts); more via `register()`. */
  jobs?: readonly JobClass[];
  /** `throw` (default) rethrows a job's error from `runNext`/`runAll`; `record` returns it. */
  jobErrors?: JobErrorMode;
  /**
   * Tries a job that sets no `maxTries` is told it has (`context.maxTries`), like a worker's
   * `tries` (`queue:work --tries`): default 3, a worker's default. The fake still runs one
   * attempt; this only sets what the job sees. A whole number >= 1.
   */
  tries?: number;
  /** Logger handed to running jobs (default: silent). */
  log?: Logger;
  /**
   * Options of the underlying memory driver (retention, clock). A `now` clock also times
   * the fake's dispatcher: a `delay` counts from it.
   */
  driver?: MemoryQueueDriverOptions;
}

/** Payload of a job class. */
type Payload<C extends JobClass> = PayloadOf<InstanceType<C>>;
/** Selects dispatched jobs of one class, by typed payload and the dispatch record. */
export type DispatchPredicate<C extends JobClass> = (
  payload: Payload<C>,
  job: DispatchedJob<Payload<C>>,
) => boolean;

/**
 * A fake queue for tests: records every dispatched job, asserts on them, runs them.
 *
 * @example
 * const fake = QueueFake.install({ jobs });
 * await ProcessSensorDataJob.dispatch({ deviceId: 'd1', temperature: 35 });
 * fake.assertDispatched(ProcessSensorDataJob, (reading) => reading.deviceId === 'd1');
 * await fake.runAll();
 * fake.assertDispatched(SendNotificationJob, (alert) => alert.level === 'warning');
 * fake.restore();
 */
export class QueueFake {
  /** The recording memory driver; pass it to `createApplication({ driver })` / `createServer`. */
  readonly driver: RecordingQueueDriver;
  /** The jobs this fake may run. */
  readonly registry: JobRegistry;
  /** The dispatcher `install()` binds as the target of static `SomeJob.dispatch()`. */
  readonly dispatcher: Dispatcher;
  readonly #runner: FakeQueueRunner;
  #installed = false;

  /** Builds a fake without binding it; most tests want {@link QueueFake.install}. */
  constructor(options: QueueFakeOptions = {}) {
    const { tries = DEFAULT_TRIES } = options;
    if (!Number.isInteger(tries) || tries < 1) {
      throw new InvalidOptionError(`QueueFake tries must be a whole number >= 1; got ${tries}`);
    }
    this.driver = new RecordingQueueDriver(options.driver);
    this.registry = new JobRegistry().register(...(options.jobs ?? []));
    // the driver's clock, so that with `driver: { now }` a delay is counted from the time the
    // driver decides by, and recorded as given
    this.dispatcher = new Dispatcher(this.driver, this.registry, undefined, {
      now: () => this.driver.currentTime(),
    });
    this.#runner = new FakeQueueRunner(
      this.driver,
      this.registry,
      options.log ?? silentLogger(),
      options.jobErrors ?? 'throw',
      tries,
    );
  }

  /**
   * Builds a fake and binds its dispatcher as the target of static `SomeJob.dispatch()`.
   * An application built afterwards on `fake.driver` rebinds its own dispatcher, which
   * writes to the same driver, so its jobs are recorded too.
   *
   * @example
   * const fake = QueueFake.install({ jobs: [SendEmailJob] });
   * afterEach(() => fake.restore());
   */
  static install(options: QueueFakeOptions = {}): QueueFake {
    return new QueueFake(options).install();
  }

  /**
   * Binds this fake's dispatcher (for a fake built with `new`); `restore()` undoes it.
   *
   * @example
   * const fake = new QueueFake({ jobs }).install();
   */
  install(): this {
    if (this.#installed) return this;
    Queue.bind(this.dispatcher);
    this.#installed = true;
    return this;
  }

  /**
   * Unbinds this fake: what was bound before `install()` and is still bound is the target
   * again (an application closed meanwhile is not). Idempotent.
   *
   * @example
   * afterEach(async () => {
   *   fake.restore(); // first: if createServer threw, there is no server to stop
   *   await server?.stop();
   * });
   */
  restore(): void {
    if (!this.#installed) return;
    Queue.unbind(this.dispatcher);
    this.#installed = false;
  }

  /**
   * Adds job classes the fake may run.
   *
   * @example
   * fake.register(...server.app.registry.classes());
   */
  register(...jobs: JobClass[]): this {
    this.registry.register(...jobs);
    return this;
  }

  // ---- queries -------------------------------------------------------------------------

  /**
   * Every dispatch record (id, queue, payload, priority, delay, ...), or those of one
   * class, oldest first. A dispatch whose job id already existed is listed with
   * `duplicate: true`; assertions and counts include it, as Laravel counts every call.
   *
   * @example
   * const [job] = fake.dispatchedJobs(SendEmailJob);
   * expect(job).toMatchObject({ queue: 'emails', priority: -1, delay: 60 });
   */
  dispatchedJobs(): DispatchedJob[];
  dispatchedJobs<C extends JobClass>(job: C, predicate?: DispatchPredicate<C>): DispatchedJob<Payload<C>>[];
  dispatchedJobs(job?: JobClass, predicate?: DispatchPredicate<JobClass>): DispatchedJob<any>[] {
    if (!job) return [...this.driver.dispatched];
    const name = jobNameOf(job);
    return this.driver.dispatched.filter(
      (record) => record.name === name && (!predicate || predicate(record.payload as never, record as never)),
    );
  }

  /**
   * Payloads dispatched for one job class, typed, oldest first.
   *
   * @example
   * const [reading] = fake.dispatched(ProcessSensorDataJob);
   * expect(reading?.temperature).toBe(35);
   */
  dispatched<C extends JobClass>(job: C, predicate?: DispatchPredicate<C>): Payload<C>[] {
    return this.dispatchedJobs(job, predicate).map((record) => record.payload);
  }

  /**
   * How many jobs were dispatched, of every class.
   *
   * @example
   * expect(fake.count()).toBe(2);
   */
  count(): number {
    return this.driver.dispatched.length;
  }

  /**
   * How many jobs of one class were dispatched (matching `predicate`, if given).
   *
   * @example
   * expect(fake.countOf(SendNotificationJob, (alert) => alert.level === 'warning')).toBe(1);
   */
  countOf<C extends JobClass>(job: C, predicate?: DispatchPredicate<C>): number {
    return this.dispatchedJobs(job, predicate).length;
  }

  // ---- assertions ----------------------------------------------------------------------

  /**
   * Throws unless a job of this class was dispatched (matching `predicate`, if given).
   *
   * @example
   * fake.assertDispatched(SendEmailJob);
   * fake.assertDispatched(SendEmailJob, (email) => email.to === 'ops@example.com');
   * fake.assertDispatched(SendEmailJob, (_email, job) => job.queue === 'emails' && job.delay === 60);
   */
  assertDispatched<C extends JobClass>(job: C, predicate?: DispatchPredicate<C>): void {
    if (this.countOf(job, predicate) > 0) return;
    const name = jobNameOf(job);
    const all = this.countOf(job);
    this.#fail(
      predicate && all > 0
        ? `Expected ${name} to be dispatched matching the predicate, but none of its ${dispatches(all)} matched.`
        : `Expected ${name} to be dispatched, but it was not.`,
      this.assertDispatched,
      this.#describeFor(job),
    );
  }

  /**
   * Throws if a job of this class was dispatched (matching `predicate`, if given).
   *
   * @example
   * fake.assertNotDispatched(SendNotificationJob, (alert) => alert.level === 'critical');
   */
  assertNotDispatched<C extends JobClass>(job: C, predicate?: DispatchPredicate<C>): void {
    const found = this.dispatchedJobs(job, predicate);
    if (found.length === 0) return;
    const name = jobNameOf(job);
    this.#fail(
      predicate
        ? `Expected ${name} not to be dispatched matching the predicate, but ${dispatches(found.length)} matched.`
        : `Expected ${name} not to be dispatched, but it was dispatched ${plural(found.length)}.`,
      this.assertNotDispatched,
      describeDispatched(found, `Matching ${jobNameOf(job)} jobs`),
    );
  }

  /**
   * Throws unless exactly `times` jobs of this class were dispatched (matching `predicate`).
   *
   * @example
   * fake.assertDispatchedTimes(ProcessSensorDataJob, 2);
   */
  assertDispatchedTimes<C extends JobClass>(job: C, times: number, predicate?: DispatchPredicate<C>): void {
    const count = this.countOf(job, predicate);
    if (count === times) return;
    const what = predicate ? `${jobNameOf(job)} matching the predicate` : jobNameOf(job);
    this.#fail(
      `Expected ${what} to be dispatched ${plural(times)}, but it was dispatched ${plural(count)}.`,
      this.assertDispatchedTimes,
      this.#describeFor(job),
    );
  }

  /**
   * Throws unless exactly `expected` jobs were dispatched in all.
   *
   * @example
   * fake.assertCount(2);
   */
  assertCount(expected: number): void {
    const count = this.count();
    if (count === expected) return;
    this.#fail(`Expected ${expected} dispatched jobs in all, but there were ${count}.`, this.assertCount);
  }

  /**
   * Throws if any job was dispatched.
   *
   * @example
   * await server.pipeline.handle(fakeMessage('devices/d1/telemetry', { temperature: 'hot' }));
   * fake.assertNothingDispatched();
   */
  assertNothingDispatched(): void {
    if (this.count() === 0) return;
    this.#fail('Expected no jobs to be dispatched, but some were.', this.assertNothingDispatched);
  }

  /**
   * What a failed assertion about `job` lists: that class's dispatches when it has some (the
   * payloads that did not match, never cut off by other classes' jobs), else every dispatch.
   */
  #describeFor(job: JobClass): string {
    const own = this.dispatchedJobs(job);
    return own.length > 0
      ? describeDispatched(own, `${jobNameOf(job)} jobs`)
      : describeDispatched(this.driver.dispatched);
  }

  #fail(
    message: string,
    stackStartFn: Function,
    details = describeDispatched(this.driver.dispatched),
  ): never {
    throw new QueueAssertionError(`${message}\n${details}`, stackStartFn);
  }

  // ---- running -------------------------------------------------------------------------

  /**
   * Runs the next ready job, whatever its queue: the queue of the oldest ready job is
   * served, and within it the driver's order holds (lower priority number first). Delayed
   * jobs run once due, held ones never. Resolves to undefined when nothing is ready. A
   * cancel of the running job aborts its signal (`E_JOB_CANCELLED`) and the job ends
   * `cancelled`, without `failed()`; that outcome is returned, never thrown.
   *
   * @example
   * const outcome = await fake.runNext();
   * if (outcome?.status === 'completed') expect(outcome.result).toEqual({ alerted: true });
   */
  runNext(options: RunOptions = {}): Promise<RunOutcome | undefined> {
    return this.#runner.runNext(options);
  }

  /**
   * Runs ready jobs until none is left, including jobs that the jobs dispatch. Throws
   * `QueueFakeLimitError` when more than `maxJobs` (default 1000) would run.
   *
   * @example
   * await fake.runAll();
   * fake.assertDispatched(SendNotificationJob, (alert) => alert.level === 'warning');
   */
  runAll(options: RunAllOptions = {}): Promise<RunOutcome[]> {
    return this.#runner.runAll(options);
  }
}

function dispatches(count: number): string {
  return count === 1 ? '1 dispatch' : `${count} dispatches`;
}

function plural(times: number): string {
  return times === 1 ? 'once' : `${times} times`;
}
