/**
 * The wire format of job events on Redis Pub/Sub. A worker publishes every status change
 * of every job (two or more per job), so the format is compact: job names, queues and
 * worker names are sent once per message in a string table, and each event is a short
 * array instead of an object repeating its keys. A message is less than half the size of
 * the same events as JSON objects (tests/unit/queue/drivers/redis/event_codec.test.ts).
 *
 *   { "v": 1, "s": [strings...], "e": [[id, name#, queue#, status, attempt, at, worker# or -1, extra?]] }
 *
 * `extra` holds only the fields an event has beyond those (runAt, result, error,
 * durationMs). A completed event without `result` in `extra` has the result null.
 */
import type { JobEvent, JobStatus } from '../../driver.js';

type Extra = Pick<JobEvent, 'runAt' | 'result' | 'error' | 'durationMs'>;
type Row = [string, number, number, JobStatus, number, number, number, Extra?];

interface Message {
  v: 1;
  s: string[];
  e: Row[];
}

/** Encodes a batch of events as one message. */
export function encodeEvents(events: readonly JobEvent[]): string {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (value: string): number => {
    let at = index.get(value);
    if (at === undefined) {
      at = strings.length;
      strings.push(value);
      index.set(value, at);
    }
    return at;
  };
  const rows: Row[] = [];
  for (const event of events) {
    const row: Row = [
      event.id,
      ref(event.name),
      ref(event.queue),
      event.status,
      event.attempt,
      event.at,
      event.worker === undefined ? -1 : ref(event.worker),
    ];
    const extra = extraOf(event);
    if (extra) row.push(extra);
    rows.push(row);
  }
  return JSON.stringify({ v: 1, s: strings, e: rows } satisfies Message);
}

/** Decodes a message from {@link encodeEvents}; anything else yields no events. */
export function decodeEvents(message: string): JobEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  if (!isMessage(parsed)) return [];
  const { s: strings, e: rows } = parsed;
  const events: JobEvent[] = [];
  for (const row of rows) {
    if (!Array.isArray(row) || row.length < 7) continue;
    const [id, name, queue, status, attempt, at, worker, extra] = row;
    const event: JobEvent = {
      id,
      name: strings[name] ?? '',
      queue: strings[queue] ?? '',
      status,
      attempt,
      at,
    };
    if (worker >= 0 && strings[worker] !== undefined) event.worker = strings[worker];
    if (extra && typeof extra === 'object') Object.assign(event, extra);
    if (status === 'completed' && event.result === undefined) event.result = null;
    events.push(event);
  }
  return events;
}

function extraOf(event: JobEvent): Extra | undefined {
  const { runAt, result, error, durationMs } = event;
  const keepResult = result !== undefined && !(event.status === 'completed' && result === null);
  if (runAt === undefined && !keepResult && error === undefined && durationMs === undefined) return undefined;
  const extra: Extra = {};
  if (runAt !== undefined) extra.runAt = runAt;
  if (keepResult) extra.result = result;
  if (error !== undefined) extra.error = error;
  if (durationMs !== undefined) extra.durationMs = durationMs;
  return extra;
}

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Partial<Message>;
  return message.v === 1 && Array.isArray(message.s) && Array.isArray(message.e);
}
