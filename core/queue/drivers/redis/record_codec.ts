/** Turns a job hash read from Redis into a {@link JobRecord}. */
import type { JobRecord, JobStatus, StoredError } from '../../driver.js';
import { decodeJson, type JsonValue } from '../../json.js';
import { isDateTime } from '../../../support/date_time.js';
import { parseSpec } from './job_spec.js';

/**
 * An epoch-ms time field: null when absent, and also when it is no time at all (a field
 * edited by hand to `x`, or past what a `Date` holds), so a damaged record is still shown.
 */
function timeOrNull(value: string | number | undefined): number | null {
  if (value === undefined || value === '') return null;
  const time = Number(value);
  return isDateTime(time) ? time : null;
}

/**
 * A number field the record cannot leave empty (attempts, progress, a spec's tries and
 * priority; its creation time too, through `timeOrNull`): a damaged value reads as 0, as
 * `parseSpec` reads a cut spec.
 */
function numberOrZero(value: string | number | undefined): number {
  const number = Number(value ?? 0);
  return Number.isFinite(number) ? number : 0;
}

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
    attempts: numberOrZero(hash.attempts),
    maxTries: numberOrZero(spec.maxTries),
    priority: numberOrZero(spec.priority),
    progress: numberOrZero(hash.progress),
    progressMessage: hash.progressMessage ?? null,
    progressData: parseJson(hash.progressData, 'progressData'),
    result: parseJson(hash.result, 'result'),
    error: parseError(hash.error),
    createdAt: timeOrNull(spec.createdAt) ?? 0,
    queuedAt: timeOrNull(hash.queuedAt),
    runAt: timeOrNull(hash.runAt),
    startedAt: timeOrNull(hash.startedAt),
    finishedAt: timeOrNull(completion ? (completion.finishedAt ?? undefined) : hash.finishedAt),
    expiresAt: timeOrNull(hash.expiresAt),
    worker: hash.worker ?? null,
    owner: hash.owner ?? null,
    description: hash.description ?? null,
  };
}
