/**
 * What a worker reports about itself in its heartbeat, and the checks run on heartbeats read
 * back from a store. `driver.ts` re-exports every name here.
 */
import { isDateTime } from '../support/date_time.js';

/** What a worker reports about itself in its heartbeat. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  runningJobIds: string[];
  startedAt: number;
  heartbeatAt: number;
}

/**
 * Whether `value` has the fields of a {@link WorkerInfo}: for heartbeats read back from a store
 * (hand-written or damaged ones are not listed) and for what a custom driver's `heartbeat`
 * returns.
 */
export function isWorkerInfo(value: unknown): value is WorkerInfo {
  if (typeof value !== 'object' || value === null) return false;
  const info = value as Partial<Record<keyof WorkerInfo, unknown>>;
  return (
    typeof info.id === 'string' &&
    typeof info.host === 'string' &&
    typeof info.pid === 'number' &&
    Array.isArray(info.queues) &&
    typeof info.concurrency === 'number' &&
    Array.isArray(info.runningJobIds) &&
    // times a Date holds: a damaged 1e300 would fail `toISOString` when listed
    isDateTime(info.startedAt) &&
    isDateTime(info.heartbeatAt)
  );
}

/** What tells one worker from another that took its name: its host, process and start. */
export type WorkerIdentity = Pick<WorkerInfo, 'host' | 'pid' | 'startedAt'>;

/** Whether two heartbeats under one name come from different workers (another host, process or start). */
export function otherWorker(a: WorkerIdentity, b: WorkerIdentity): boolean {
  return a.host !== b.host || a.pid !== b.pid || a.startedAt !== b.startedAt;
}
