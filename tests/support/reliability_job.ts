/**
 * The job the reliability tests run in real worker processes, and the Redis journal it
 * writes. The parent test dispatches `ReliabilityJob` (only its name and settings
 * matter there); the worker process registers a subclass that records every execution
 * in the journal, so the parent can count how often each job really ran.
 */
import { Job, type JobContext } from '../../core/index.js';

/** What a reliability job does: sleep `ms` (0: return at once). */
export interface ReliabilityPayload {
  ms: number;
}

/** Dispatch-side class; `tests/support/worker_process.ts` registers the recording subclass. */
export class ReliabilityJob extends Job<ReliabilityPayload> {
  static override readonly jobName = 'ReliabilityJob';
  // Crash and blip tests reclaim jobs more than once; they must not run out of tries.
  static override readonly maxTries = 5;

  async handle(_payload: ReliabilityPayload, _context: JobContext): Promise<void> {
    throw new Error('ReliabilityJob only runs in tests/support/worker_process.ts');
  }
}

/** Redis keys of the journal, under the test's own key prefix. */
export interface JournalKeys {
  /** List of `"<jobId> <pid> <attempt>"`, pushed when an execution starts. */
  started: string;
  /** List of job ids, pushed when an execution finishes `handle()` successfully. */
  handled: string;
  /** List of `"<jobId> <pid> <reason>"`, pushed when an execution is aborted. */
  aborted: string;
  /** Hash pid -> number of executions that process finished. */
  handledByPid: string;
}

export function journalKeys(prefix: string): JournalKeys {
  return {
    started: `${prefix}:journal:started`,
    handled: `${prefix}:journal:handled`,
    aborted: `${prefix}:journal:aborted`,
    handledByPid: `${prefix}:journal:handled-by-pid`,
  };
}

/** One parsed `started` entry. */
export interface StartedEntry {
  jobId: string;
  pid: number;
  attempt: number;
}

export function parseStarted(entry: string): StartedEntry {
  const [jobId = '', pid = '', attempt = ''] = entry.split(' ');
  return { jobId, pid: Number(pid), attempt: Number(attempt) };
}
