/**
 * How the memory driver holds one job: its readable record plus the bookkeeping that
 * never leaves the driver (lease token, cancel request). Values are stored as the Redis
 * driver would read them back, and records leave only as deep copies, so callers cannot
 * change the driver's state by mutating what they were given.
 */
import type { JobRecord, NewJob, ReservedJob, StoredError } from '../../driver.js';
import type { JsonValue } from '../../json.js';

/** A job inside a memory queue. */
export interface StoredJob {
  readonly record: JobRecord;
  /** The payload as pushed, handed to workers unchanged. */
  readonly payloadText: string;
  /** Token of the reservation that owns the job while it runs. */
  token: string | null;
  /**
   * Set by `cancel` on a running job; the worker learns it on its next lease renewal. Like
   * the Redis driver, it survives a `release`, so the next worker to run the job sees it.
   */
  cancelRequested: boolean;
  /** Whether the job was known to start under its current (or last) lease (see `MAX_STALLS`). */
  ran: boolean;
  /**
   * Whether it was ever known to start since it was pushed or retried from the failed store
   * (Redis keeps the 'ran' field): a job a stopping worker handed back has its attempt given
   * back, yet counts as having run when it comes due past its expiresAt (failed, not expired).
   */
  ranBefore: boolean;
  /** The token of the push that added it (as Redis keeps `pushToken`), and the status it was added in. */
  readonly pushToken: string | undefined;
  addedAs: 'queued' | 'delayed' | 'pending';
  /** How many times a lease of it ended before it was known to start. */
  stalls: number;
}

/**
 * Parses stored JSON; text that is not JSON is shown as itself, as the Redis driver shows
 * a corrupt value rather than hiding the record.
 */
export function parseStoredJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** An error as a record keeps it: what survives JSON, as in Redis. */
export function storedError(error: StoredError): StoredError {
  return JSON.parse(JSON.stringify(error)) as StoredError;
}

/** Builds the stored form of a freshly pushed job; the caller gives it its first status. */
export function createStoredJob(job: NewJob, now: number): StoredJob {
  return {
    record: {
      id: job.id,
      name: job.name,
      queue: job.queue,
      payload: parseStoredJson(job.payload),
      status: 'pending',
      attempts: 0,
      maxTries: job.maxTries,
      priority: job.priority,
      progress: 0,
      progressMessage: null,
      progressData: null,
      result: null,
      error: null,
      createdAt: now,
      queuedAt: null,
      runAt: job.runAt !== undefined && job.runAt > 0 ? job.runAt : null,
      startedAt: null,
      finishedAt: null,
      expiresAt: job.expiresAt !== undefined && job.expiresAt !== 0 ? job.expiresAt : null,
      worker: null,
      owner: job.owner ?? null,
      description: job.description ?? null,
    },
    payloadText: job.payload,
    token: null,
    cancelRequested: false,
    ran: false,
    ranBefore: false,
    pushToken: job.pushToken,
    addedAs: 'pending', // set once scheduled
    stalls: 0,
  };
}

/** A copy of the job's record that shares nothing with the stored one. */
export function copyRecord(job: StoredJob): JobRecord {
  return structuredClone(job.record);
}

/**
 * What a worker receives for a job it has just reserved, its `expiresAt` on the driver's clock
 * (`MemoryQueueDriver.reserve` makes it one of this process's).
 */
export function toReservedJob(job: StoredJob, token: string): ReservedJob {
  const { record } = job;
  return {
    id: record.id,
    name: record.name,
    queue: record.queue,
    payload: job.payloadText,
    attempt: record.attempts,
    maxTries: record.maxTries,
    priority: record.priority,
    createdAt: record.createdAt,
    ...(record.expiresAt !== null ? { expiresAt: record.expiresAt } : {}),
    token,
  };
}
