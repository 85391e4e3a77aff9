/**
 * Turns `(JobClass, payload, options)` into stored jobs: checks the payload is JSON-safe,
 * resolves queue/priority/tries/schedule from options then class settings, and pushes in
 * one driver call per batch.
 */
import { assertDescription, assertOwner } from './job_labels.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { InvalidOptionError, InvalidPayloadError } from '../errors.js';
import {
  type DispatchOptions,
  delayedRunAt,
  epochMs,
  LATEST_DISPATCH_MS,
  MAX_TRIES,
} from './dispatch_options.js';
import type { NewJob, PushOutcome, QueueDriver } from './driver.js';
import type { JobEventPublisher, PlacedChange } from './job_events.js';
import { type DispatchPayload, type JobClass, jobNameOf } from './job.js';
import { encodeJson } from './json.js';
import { assertJobName, assertNewJobId, assertQueueName } from './names.js';
import { assertPriority, type JobRegistry } from './registry.js';
import { describeSchemaFailure } from '../support/schema.js';

/**
 * Push tokens of this process: a random prefix made once and a counter, so each dispatch with a
 * caller's `jobId` costs no call to the system's random source.
 */
const PUSH_TOKEN_PREFIX = randomBytes(12).toString('base64url');
let pushTokens = 0;

/** A push token no other push of any process holds. */
function nextPushToken(): string {
  pushTokens++;
  return `${PUSH_TOKEN_PREFIX}.${pushTokens.toString(36)}`;
}

/** One job of a `dispatchMany` call. */
export interface DispatchEntry<C extends JobClass = JobClass> {
  job: C;
  payload: DispatchPayload<C>;
  options?: DispatchOptions | undefined;
}

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  /**
   * The clock a `delay` counts from, in epoch ms (default `Date.now()`, read on each dispatch).
   * Give the driver's clock when it has its own (`QueueFake` does), so a delay is measured
   * on the clock that decides when the job is due.
   */
  now?: () => number;
}

/**
 * Dispatches jobs into a queue driver.
 *
 * @example
 * const dispatcher = new Dispatcher(driver, registry);
 * const id = await dispatcher.dispatch(SendEmailJob, { to: 'ops@example.com', subject: 'hi' });
 * await dispatcher.dispatchMany([
 *   { job: SendEmailJob, payload: { to: 'a@example.com', subject: 'x' } },
 *   { job: ProcessSensorDataJob, payload: { deviceId: 'd1', temperature: 20 } },
 * ]);
 */
export class Dispatcher {
  readonly driver: QueueDriver;
  readonly registry: JobRegistry | undefined;
  readonly events: JobEventPublisher | undefined;
  /** The clock dispatch times are read from (`options.now`, else `Date.now()`). */
  readonly #now: () => number;

  constructor(
    driver: QueueDriver,
    registry?: JobRegistry,
    events?: JobEventPublisher,
    options: DispatcherOptions = {},
  ) {
    this.driver = driver;
    this.registry = registry;
    this.events = events;
    // read at each call, not captured: a test may replace Date.now later
    this.#now = options.now ?? (() => Date.now());
  }

  /** Stores one job; resolves to its id. */
  async dispatch<C extends JobClass>(
    job: C,
    payload: DispatchPayload<C>,
    options?: DispatchOptions,
  ): Promise<string> {
    const [id] = await this.dispatchMany([{ job, payload, options }]);
    return id!;
  }

  /**
   * Stores many jobs, one round trip per queue and 1,000 jobs; resolves to their ids in order.
   * Refuses (`E_INVALID_OPTION`, nothing stored) two entries with one `jobId` in one queue: the
   * second would only be reported as a duplicate of the first, its payload dropped.
   */
  async dispatchMany<const T extends readonly JobClass[]>(
    entries: { readonly [K in keyof T]: DispatchEntry<T[K]> },
  ): Promise<string[]> {
    const jobs = (entries as readonly DispatchEntry[]).map((entry) => this.build(entry));
    assertDistinctIds(jobs);
    if (jobs.length > 0) await this.store(jobs);
    return jobs.map((job) => job.id);
  }

  /**
   * Pushes built jobs and announces the ones that were added. Resolves to what the store did
   * with each, in order: the status it was added in, or `duplicate` when a job with its id
   * exists already (nothing was added; see {@link PushOutcome}). The same jobs stored again
   * after a failure (the ingest batcher's retries) get, for those an earlier try stored, the
   * status they were added in and their event, as new ones do (see `NewJob.pushToken`).
   */
  async store(jobs: readonly NewJob[]): Promise<PushOutcome[]> {
    const { events } = this;
    // before the push: a worker of this process it wakes may start a job before push answers
    const recordQueued = events?.enabled ? events.placeQueued() : undefined;
    let outcomes: PushOutcome[];
    try {
      outcomes = await this.driver.push(jobs);
    } catch (error) {
      recordQueued?.([]); // nothing to announce: what waits behind its place goes on
      throw error;
    }
    if (!events || !recordQueued) return outcomes;
    // the usual case, jobs added straight to their wait queue, makes one group without an event object each
    const queued: NewJob[] = [];
    const others: PlacedChange[] = [];
    // the status is the one the store gave the job, by its clock, as its record says
    jobs.forEach((job, index) => {
      const outcome = outcomes[index];
      if (outcome === 'duplicate') return;
      if (outcome === 'queued' && job.runAt === undefined) queued.push(job);
      else others.push({ job, status: outcome ?? 'queued', ...runAtOf(job) });
    });
    recordQueued(queued, others);
    return outcomes;
  }

  /**
   * Dispatches by registry name with an untrusted payload (CLI, MQTT command topic): the
   * name must be registered and the payload must pass the job's `schema` when it has one.
   */
  async dispatchByName(name: string, payload: unknown, options?: DispatchOptions): Promise<string> {
    return (await this.storeByName(name, payload, options)).job.id;
  }

  /**
   * As {@link dispatchByName}, resolving to the job as built and what the store did with it
   * (`duplicate` for a job id that exists already, see {@link PushOutcome}).
   */
  async storeByName(
    name: string,
    payload: unknown,
    options?: DispatchOptions,
  ): Promise<{ job: NewJob; outcome: PushOutcome | undefined }> {
    const checked = this.checkByName(name, payload);
    const job = this.build({ job: checked.job, payload: checked.payload as never, options });
    const [outcome] = await this.store([job]);
    return { job, outcome };
  }

  /**
   * The registered job class named `name` and `payload` as its `schema` parses it (as given
   * when it has none), for a caller that stores the job its own way (the MQTT command topic
   * goes through the ingest batcher, which holds the message while Redis is away). Throws
   * `E_JOB_NOT_REGISTERED` or `E_INVALID_PAYLOAD`.
   */
  checkByName(name: string, payload: unknown): { job: JobClass; payload: unknown } {
    if (!this.registry)
      throw new InvalidOptionError('dispatchByName needs a Dispatcher built with a JobRegistry');
    const job = this.registry.get(name);
    if (!job.schema) return { job, payload };
    const parsed = job.schema.safeParse(payload);
    if (!parsed.success) {
      throw new InvalidPayloadError(
        `payload for ${name} does not match its schema: ${describeSchemaFailure(parsed.error, 5)}`,
      );
    }
    return { job, payload: parsed.data };
  }

  /** Validates one entry and turns it into a {@link NewJob} (no I/O). */
  build({ job, payload, options = {} }: DispatchEntry): NewJob {
    const name = jobNameOf(job);
    assertJobName(name);
    const queue = options.queue ?? job.queue ?? 'default';
    assertQueueName(queue);
    const id = options.jobId ?? randomUUID();
    assertNewJobId(id);
    const priority = options.priority ?? job.priority ?? 0;
    assertPriority(priority);
    // 0 is what a job without a setting stores (the worker's --tries then applies), so a
    // caller's 0 would replace the class's own maxTries with the worker's, and is refused
    const maxTries = options.maxTries ?? job.maxTries ?? 0;
    if (!Number.isInteger(maxTries) || maxTries < 0 || maxTries > MAX_TRIES || options.maxTries === 0) {
      throw new InvalidOptionError(
        `maxTries must be a whole number of tries, at most ${MAX_TRIES.toLocaleString('en')} and 1 or more; got ${maxTries}`,
      );
    }
    // runAt wins over delay, but a delay given with it is checked all the same
    const delayedTo = delayToEpochMs(options.delay, this.#now);
    const runAt = toEpochMs(options.runAt, 'runAt') ?? delayedTo;
    const expiresAtMs = toEpochMs(options.expiresAt, 'expiresAt');
    // drivers read 0 as "never": the first millisecond of 1970 has passed as surely as the next
    const expiresAt = expiresAtMs === 0 ? 1 : expiresAtMs;
    if (options.owner !== undefined) assertOwner(options.owner);
    if (options.description !== undefined) assertDescription(options.description);
    return {
      id,
      name,
      queue,
      // an id made here is this push's alone; the caller's may be pushed by other dispatches
      pushToken: options.jobId == null ? id : nextPushToken(),
      payload: encodeJson(payload, `${name} payload`),
      maxTries,
      priority,
      ...(runAt !== undefined ? { runAt } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(options.hold ? { hold: true } : {}),
      ...(options.owner !== undefined ? { owner: options.owner } : {}),
      ...(options.description !== undefined ? { description: options.description } : {}),
    };
  }
}

function runAtOf(job: NewJob): { runAt: number } | undefined {
  return job.runAt === undefined ? undefined : { runAt: job.runAt };
}

/** Throws `E_INVALID_OPTION` when two of `jobs` have one id in one queue. */
function assertDistinctIds(jobs: readonly NewJob[]): void {
  if (jobs.length < 2) return;
  const seen = new Set<string>();
  for (const job of jobs) {
    // a queue name holds no NUL, so the pair is unambiguous
    const key = `${job.queue}\0${job.id}`;
    if (seen.has(key)) {
      throw new InvalidOptionError(
        `jobId "${job.id}" is given to more than one job of queue "${job.queue}" in one dispatchMany call; ` +
          'ids are unique in their queue, so all but the first would be dropped as duplicates: give each ' +
          'payload its own jobId (Job.dispatchMany(payloads, { jobId }) gives the same one to all)',
      );
    }
    seen.add(key);
  }
}

/** `value` (a Date or epoch ms, null or undefined for none) as whole epoch ms. */
function toEpochMs(value: Date | number | null | undefined, label: string): number | undefined {
  if (value == null) return undefined;
  const ms = epochMs(value);
  if (!Number.isFinite(ms) || ms < 0 || ms > LATEST_DISPATCH_MS) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new InvalidOptionError(
      `${label} must be a valid Date or epoch milliseconds up to the year 9999; got ${shown}` +
        (typeof value === 'string' ? ` (pass new Date(${shown}))` : ''),
    );
  }
  return Math.round(ms);
}

function delayToEpochMs(delay: number | null | undefined, now: () => number): number | undefined {
  if (delay == null || delay === 0) return undefined;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    const shown = typeof delay === 'string' ? JSON.stringify(delay) : String(delay);
    throw new InvalidOptionError(`delay must be a number of seconds >= 0; got ${shown}`);
  }
  const runAt = delayedRunAt(delay, now());
  if (runAt > LATEST_DISPATCH_MS) {
    throw new InvalidOptionError(
      `delay must end by the year 9999; got ${delay} seconds (use runAt for a fixed time)`,
    );
  }
  return runAt;
}
