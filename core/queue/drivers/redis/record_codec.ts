/** Turns a job hash read from Redis into a {@link JobRecord}. */
import type { JobRecord, JobStatus, StoredError } from '../../driver.js';
import { decodeJson, type JsonValue } from '../../json.js';
import { parseSpec } from './job_spec.js';

const numberOrNull = (value: string | undefined): number | null =>
  value === undefined || value === '' ? null : Number(value);

function parseError(text: string | undefined): StoredError | null {
  if (!text) return null;
  try {
    const parsed = JSON.parse(text) as StoredError;
    return typeof parsed === 'object' && parsed !== null ? parsed : { message: String(parsed) };
  } catch {
    return { message: text };
  }
}

function parseJson(text: string | undefined, label: string): JsonValue | null {
  if (text === undefined) return null;
  try {
    return decodeJson(text, label);
  } catch {
    return text; // a corrupt value is shown as the raw text rather than hiding the record
  }
}

/**
 * Decodes the fields of a job hash (`HGETALL`); `undefined` when the hash is empty.
 * `lease` is the job's field in its queue's leases hash: a completed job's hash still holds
 * its last attempt as running, and there the lease token became `@` and the finish time
 * (complete_jobs.lua; statusOf in common.lua reads it alike).
 */
export function decodeRecord(
  queue: string,
  id: string,
  hash: Record<string, string>,
  lease: string | null = null,
): JobRecord | undefined {
  // no hash at all; a hash without a spec (damaged) is still shown, as a job of no name
  if (hash.spec === undefined && hash.attempts === undefined) return undefined;
  const spec = parseSpec(hash.spec ?? '');
  const completedAt = lease?.startsWith('@') ? Number(lease.slice(1)) : null;
  const completed = completedAt !== null && (hash.status === undefined || hash.status === 'running');
  return {
    id,
    name: spec.name,
    queue,
    payload: parseJson(spec.payload, 'payload'),
    status: completed ? 'completed' : ((hash.status ?? 'queued') as JobStatus),
    attempts: Number(hash.attempts ?? 0),
    maxTries: spec.maxTries,
    priority: spec.priority,
    progress: Number(hash.progress ?? 0),
    progressMessage: hash.progressMessage ?? null,
    result: parseJson(hash.result, 'result'),
    error: parseError(hash.error),
    createdAt: spec.createdAt,
    queuedAt: numberOrNull(hash.queuedAt),
    runAt: numberOrNull(hash.runAt),
    startedAt: numberOrNull(hash.startedAt),
    finishedAt: completed ? completedAt : numberOrNull(hash.finishedAt),
    expiresAt: numberOrNull(hash.expiresAt),
    worker: hash.worker ?? null,
  };
}
