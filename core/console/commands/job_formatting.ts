/**
 * How the job and monitoring commands (`job:*`, `queue:workers`, `queue:stats`) print
 * records: epoch-ms times as ISO 8601, ages as short durations (`3.2s`, `5m 10s`), and
 * one JSON shape for a job record shared by `job:show --json` and `job:list --json`.
 */
import { isDateTime } from '../../support/date_time.js';
import type { JobRecord } from '../../queue/driver.js';

/** One job as `job:show --json` and `job:list --json` print it: the record with ISO 8601 times. */
export interface JobOutput extends Omit<JobRecord, 'error' | TimeField> {
  error: { code: string | null; message: string; stack: string | null } | null;
  /** ISO 8601 times; null when the job has not reached that point. */
  createdAt: string;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  runAt: string | null;
  expiresAt: string | null;
}

type TimeField = 'createdAt' | 'queuedAt' | 'startedAt' | 'finishedAt' | 'runAt' | 'expiresAt';

/** The JSON form of a job record, with times as ISO 8601. */
export function toJobOutput(record: JobRecord): JobOutput {
  return {
    id: record.id,
    name: record.name,
    queue: record.queue,
    status: record.status,
    attempts: record.attempts,
    maxTries: record.maxTries,
    priority: record.priority,
    progress: record.progress,
    progressMessage: record.progressMessage,
    progressData: record.progressData,
    result: record.result,
    error: record.error
      ? {
          code: record.error.code ?? null,
          message: record.error.message,
          stack: record.error.stack ?? null,
        }
      : null,
    createdAt: new Date(record.createdAt).toISOString(),
    queuedAt: isoTime(record.queuedAt),
    startedAt: isoTime(record.startedAt),
    finishedAt: isoTime(record.finishedAt),
    runAt: isoTime(record.runAt),
    expiresAt: isoTime(record.expiresAt),
    worker: record.worker,
    owner: record.owner,
    description: record.description,
    payload: record.payload,
  };
}

/**
 * `epochMs` as ISO 8601; null when there is none, or when it is no time a `Date` holds (NaN,
 * Infinity or out of range, from a damaged record), so one bad field never stops the output.
 */
export function isoTime(epochMs: number | null): string | null {
  return isDateTime(epochMs) ? new Date(epochMs).toISOString() : null;
}

/** `1/5`, or `1/default` when the job leaves its tries to the worker's `--tries`. */
export function attemptsText(record: Pick<JobRecord, 'attempts' | 'maxTries'>): string {
  return `${record.attempts}/${record.maxTries > 0 ? record.maxTries : 'default'}`;
}

/**
 * A duration for people: `0.4s` and `3.2s` under a minute, then `5m 10s`, `2h 5m`, `3d 4h`.
 *
 * @example
 * formatDuration(310_000); // "5m 10s"
 */
export function formatDuration(ms: number): string {
  const safe = Number.isFinite(ms) ? Math.max(0, ms) : 0;
  if (safe < 60_000) return `${(Math.floor(safe / 100) / 10).toFixed(1)}s`;
  const seconds = Math.floor(safe / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.floor((seconds % 86_400) / 3600)}h`;
}
