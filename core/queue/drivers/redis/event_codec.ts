/**
 * The wire format of job events on Redis Pub/Sub. A worker publishes every status change
 * of every job (two or more per job), so the format is compact:
 *
 * - job names, queues and worker names are sent once per message, in a string table;
 * - statuses are numbers, and times are offsets from one base time per message;
 * - the changes one job goes through within a message share a row: a job that starts
 *   and completes within one batch window costs one row of numbers, not two objects.
 *
 *   { "v": 2, "t": base epoch ms, "s": [strings...],
 *     "e": [[id, name#, queue#, attempt, worker# or -1,
 *            status#, at - t, durationMs or -1, extra or 0,   <- one change
 *            status#, at - t, durationMs or -1, extra or 0]] }  <- the next, if any
 *
 * Durations are rounded to the microsecond. `extra` holds only `runAt`, `result` (a completed change without it has the result
 * null) and `error`. Decoded events keep each job's order; changes of different jobs in
 * one message come out grouped by job. The size against plain JSON objects is checked by
 * tests/unit/queue/drivers/redis/event_codec.test.ts.
 */
import { JOB_STATUSES, type JobEvent, type JobStatus } from '../../driver.js';

type Extra = Pick<JobEvent, 'runAt' | 'result' | 'error'>;
type Cell = string | number | Extra;

/** Status numbers on the wire are indexes in {@link JOB_STATUSES} (append only). */
const STATUS_NUMBER = new Map<JobStatus, number>(JOB_STATUSES.map((status, index) => [status, index]));
/** Cells of a row before its changes, and cells per change. */
const HEAD = 5;
const CHANGE = 4;

interface Message {
  v: 2;
  t: number;
  s: string[];
  e: Cell[][];
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
  const base = events[0]?.at ?? 0;
  const rows: Cell[][] = [];
  // the open row of each job: later changes of the same attempt, seen by the same worker, join it
  const open = new Map<string, { row: Cell[]; event: JobEvent }>();
  for (const event of events) {
    const worker = event.worker === undefined ? -1 : ref(event.worker);
    let row = open.get(event.id);
    if (
      row === undefined ||
      row.event.attempt !== event.attempt ||
      row.event.name !== event.name ||
      row.event.queue !== event.queue ||
      row.row[4] !== worker
    ) {
      row = { row: [event.id, ref(event.name), ref(event.queue), event.attempt, worker], event };
      open.set(event.id, row);
      rows.push(row.row);
    }
    // durations to the microsecond: a float's full digits would be much of the message
    const durationMs = event.durationMs === undefined ? -1 : Math.round(event.durationMs * 1000) / 1000;
    row.row.push(STATUS_NUMBER.get(event.status) ?? -1, event.at - base, durationMs, extraOf(event));
  }
  return JSON.stringify({ v: 2, t: base, s: strings, e: rows } satisfies Message);
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
  const { t: base, s: strings, e: rows } = parsed;
  const events: JobEvent[] = [];
  for (const row of rows) {
    if (!Array.isArray(row) || row.length < HEAD + CHANGE) continue;
    const [id, name, queue, attempt, worker] = row as [string, number, number, number, number];
    for (let at = HEAD; at + CHANGE <= row.length; at += CHANGE) {
      const status = JOB_STATUSES[row[at] as number];
      if (status === undefined) continue;
      const event: JobEvent = {
        id,
        name: strings[name] ?? '',
        queue: strings[queue] ?? '',
        status,
        attempt,
        at: base + (row[at + 1] as number),
      };
      if (worker >= 0 && strings[worker] !== undefined) event.worker = strings[worker];
      const extra = row[at + 3];
      if (extra && typeof extra === 'object') Object.assign(event, extra);
      const durationMs = row[at + 2] as number;
      if (durationMs >= 0) event.durationMs = durationMs;
      if (status === 'completed' && event.result === undefined) event.result = null;
      events.push(event);
    }
  }
  return events;
}

function extraOf(event: JobEvent): Extra | 0 {
  const { runAt, result, error } = event;
  const keepResult = result !== undefined && !(event.status === 'completed' && result === null);
  if (runAt === undefined && !keepResult && error === undefined) return 0;
  const extra: Extra = {};
  if (runAt !== undefined) extra.runAt = runAt;
  if (keepResult) extra.result = result;
  if (error !== undefined) extra.error = error;
  return extra;
}

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Partial<Message>;
  return (
    message.v === 2 && typeof message.t === 'number' && Array.isArray(message.s) && Array.isArray(message.e)
  );
}
