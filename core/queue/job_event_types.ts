/**
 * The job event stream as listeners see it: a job's change of status or a running job's
 * progress report, the helpers that tell the two apart, and the listener types that receive
 * them. Types and small pure helpers only; `driver.ts` re-exports every name here.
 */
import type { JobStatus, StoredError } from './job_records.js';
import type { JsonValue } from './json.js';

/** A job's change of status, as published to listeners in every process. */
export interface JobEvent {
  id: string;
  name: string;
  queue: string;
  /** The status the job entered. */
  status: JobStatus;
  /** Attempts made so far (the running one included). */
  attempt: number;
  /** Epoch ms of the change. */
  at: number;
  worker?: string;
  /**
   * Epoch ms the job was set to run at, when it was given one: when a `delayed` job will run,
   * and on the `pending` and `queued` events of a job given one that is held, or dispatched or
   * released once it is due.
   */
  runAt?: number;
  /** The value `handle()` returned (completed); `null` when {@link resultOmitted}. */
  result?: JsonValue;
  /**
   * True on a `completed` event whose result was left out for its size (over
   * `MAX_EVENT_RESULT_BYTES` of JSON): read it from the job's record (`job:show <id>`).
   */
  resultOmitted?: true;
  /** The last error (failed, retrying, cancelled). */
  error?: StoredError;
  /** Milliseconds the attempt ran (completed, failed). */
  durationMs?: number;
}

/**
 * A running job's progress, as published to listeners in every process: sent when a
 * `progress()` report is stored on the record, so at most one per
 * `QUEUE_PROGRESS_INTERVAL_MS` per job, plus the last one, written as the job ends. Not a
 * change of status: the job stays `running`.
 */
export interface JobProgressEvent {
  /** Tells a progress report from a {@link JobEvent}, which has no `kind`. */
  kind: 'progress';
  id: string;
  name: string;
  queue: string;
  /** The attempt reporting it (1-based). */
  attempt: number;
  /** Epoch ms of the report. */
  at: number;
  worker: string;
  /** 0 to 100. */
  progress: number;
  progressMessage: string | null;
  /** The JSON value the report carried (partial results), or null. */
  progressData: JsonValue | null;
}

/** A message of the job event stream: a change of status, or a progress report. */
export type JobStreamEvent = JobEvent | JobProgressEvent;

/** Whether `event` is a progress report rather than a change of status. */
export function isProgressEvent(event: JobStreamEvent): event is JobProgressEvent {
  return (event as Partial<JobProgressEvent>).kind === 'progress';
}

/** The status a change entered, or `progress` for a progress report (topics, logs). */
export function streamEventLabel(event: JobStreamEvent): JobStatus | 'progress' {
  return isProgressEvent(event) ? 'progress' : event.status;
}

/** Receives job status changes (`QueueDriver.subscribeEvents`, `app.onJobEvent`). */
export type JobEventListener = (event: JobEvent) => void;

/** Receives progress reports of running jobs (`app.onJobProgress`). */
export type JobProgressListener = (event: JobProgressEvent) => void;

/**
 * The listeners of one subscription to the job event stream: changes of status, progress
 * reports, or both, each message decoded once for the two.
 */
export interface JobEventListeners {
  status?: JobEventListener;
  progress?: JobProgressListener;
}

/** Told when a {@link JobEventListener} or {@link JobProgressListener} threw for `event`. */
export type JobEventListenerError = (error: unknown, event: JobStreamEvent) => void;
