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

/** The fields of a hash as `HGETALL` gives them (name, value, name, value, ...), as an object. */
export function fieldsOf(flat: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
}

/**
 * Decodes the fields of a job hash (`HGETALL`); `undefined` when the hash is empty.
 * `completion` is set when the job completed: its hash still holds its last attempt as
 * running, and its finish time comes from the completed lists (`read_records.lua`).
 */
export function decodeRecord(
  queue: string,
  id: string,
  hash: Record<string, string>,
  completion: { finishedAt: number | null } | null = null,
): JobRecord | undefined {
  // no hash at all; a hash without a spec (damaged) is still shown, as a job of no name
  if (hash.spec === undefined && hash.attempts === undefined) return undefined;
  const spec = parseSpec(hash.spec ?? '');
  const completed = completion !== null;
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
    progressData: parseJson(hash.progressData, 'progressData'),
    result: parseJson(hash.result, 'result'),
    error: parseError(hash.error),
    createdAt: spec.createdAt,
    queuedAt: numberOrNull(hash.queuedAt),
    runAt: numberOrNull(hash.runAt),
    startedAt: numberOrNull(hash.startedAt),
    finishedAt: completion ? completion.finishedAt : numberOrNull(hash.finishedAt),
    expiresAt: numberOrNull(hash.expiresAt),
    worker: hash.worker ?? null,
    owner: hash.owner ?? null,
    description: hash.description ?? null,
  };
}
