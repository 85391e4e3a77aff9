/**
 * The job records a queue driver keeps and reads back: the statuses a job moves through, the
 * readable record of one job, and the sizes, rates and retention bounds of a queue. Types and
 * constants only; the driver contract that stores them is `driver.ts`, which re-exports them.
 */
import type { JsonValue } from './json.js';

/**
 * Every state a job record can be in. Append only, never reorder: job events carry a
 * status as its index in this list (`drivers/redis/event_codec.ts`).
 */
export const JOB_STATUSES = [
  'pending',
  'queued',
  'delayed',
  'running',
  'completed',
  'failed',
  'cancelled',
  'expired',
] as const;

/** A state a job record can be in. */
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The states a job ends in; their records are listed newest finished first. */
export const FINISHED_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'completed',
  'failed',
  'cancelled',
  'expired',
]);

/** An error as stored on a job record. */
export interface StoredError {
  message: string;
  code?: string;
  stack?: string;
}

/** The readable record of a job. */
export interface JobRecord {
  id: string;
  name: string;
  queue: string;
  payload: JsonValue;
  status: JobStatus;
  attempts: number;
  maxTries: number;
  priority: number;
  progress: number;
  progressMessage: string | null;
  /** The JSON value the last progress report carried (partial results), or null. */
  progressData: JsonValue | null;
  result: JsonValue | null;
  error: StoredError | null;
  createdAt: number;
  queuedAt: number | null;
  runAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  expiresAt: number | null;
  worker: string | null;
  /** Who the job is for, as dispatched (`DispatchOptions.owner`). */
  owner: string | null;
  /** What the job does, as dispatched (`DispatchOptions.description`). */
  description: string | null;
}

/** Sizes of one queue. */
export interface QueueCounts {
  waiting: number;
  delayed: number;
  running: number;
  pending: number;
  failed: number;
  completed: number;
}

/** Sizes and rates of one queue. */
export interface QueueStats extends QueueCounts {
  queue: string;
  /** Jobs completed in the last 60-70 s (the current 10-second bucket and the six before it). */
  completedLastMinute: number;
  /**
   * How long the longest-waiting job has waited, in ms, whatever its priority; 0 when none
   * waits. A delayed job that came due counts from its run-at time, moved to waiting or not.
   * The Redis driver reads the first jobs of each priority only: a delayed job moved to waiting
   * behind jobs queued after its run-at time (no worker reserved in between) counts once those
   * are taken. The memory driver reads every waiting job.
   */
  oldestWaitingMs: number;
}

/** Which failed records a removal applies to. */
export type FailedSelection = { ids: string[] } | { all: true } | { failedBefore: number };

/** How long finished records are kept. */
export interface RetentionSettings {
  /** Completed (and cancelled/expired) records kept per queue; 0 deletes them at once. */
  completedCount: number;
  /** Completed records older than this many ms are deleted. */
  completedAgeMs: number;
}
