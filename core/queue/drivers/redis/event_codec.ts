/**
 * The wire format of job events on Redis Pub/Sub. A worker publishes every status change
 * of every job (two or more per job), so the format is compact and follows the groups of an
 * {@link EventBatch}:
 *
 * - job names, queues and worker names are sent once per message, in a string table;
 * - statuses are numbers, times are offsets from one base time per message, and durations
 *   are whole microseconds;
 * - the jobs a worker started one after another share one group, and so do the jobs of one
 *   acknowledgement batch, so a job costs a few cells per change and no object.
 *
 *   { "v": 3, "t": base epoch ms, "s": [strings...], "g": [
 *       [0, worker#,            id, name#, queue#, attempt, at - t, ...],          <- running
 *       [1, worker#, at - t,    id, name#, queue#, attempt, durationUs, result, ...], <- completed
 *       (in a completed group, a job started earlier in the message is named by its number
 *        among the started jobs instead: number, durationUs, result)
 *       [3, at - t,             id, name#, queue#, ...],                         <- queued (attempt 0)
 *       [2, id, name#, queue#, attempt, worker# or -1, status#, at - t,
 *           durationUs or -1, extra or 0],                                       <- any other change
 *       [4, id, name#, queue#, attempt, worker#, at - t, percent, message or null,
 *           data or null] ] }                                                   <- progress
 *
 * `extra` holds only `runAt`, `result`, `error` and `resultOmitted`. A progress report is not a change of
 * status and is sent only when stored (coalesced), so it has a group of its own each. Decoded
 * events come out in the order they were raised. The size against plain JSON objects is checked by
 * tests/unit/queue/drivers/redis/event_codec.test.ts.
 */
import {
  JOB_STATUSES,
  type JobEvent,
  type JobProgressEvent,
  type JobStatus,
  type JobStreamEvent,
} from '../../driver.js';
import {
  completedEvent,
  type EventBatch,
  type EventJob,
  queuedEvent,
  startedEvent,
} from '../../event_batch.js';
import type { JsonValue } from '../../json.js';

type Extra = Pick<JobEvent, 'runAt' | 'result' | 'error' | 'resultOmitted'>;
type Cell = string | number | JsonValue | Extra;

/** Status numbers on the wire are indexes in {@link JOB_STATUSES} (append only). */
const STATUS_NUMBER = new Map<JobStatus, number>(JOB_STATUSES.map((status, index) => [status, index]));
const STARTED = 0;
const COMPLETED = 1;
const EVENT = 2;
const QUEUED = 3;
const PROGRESS = 4;
/** Cells per job in a started group and in a queued group, and of an event and a progress group. */
const STARTED_CELLS = 5;
const QUEUED_CELLS = 3;
const EVENT_CELLS = 10;
/** A progress group without its data cell (sent by Topiq before reports carried data) is read too. */
const PROGRESS_CELLS = 9;

interface Message {
  v: 3;
  t: number;
  s: string[];
  g: Cell[][];
}

/** Encodes a batch of changes as one message. */
export function encodeEvents(batch: EventBatch): string {
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
  // Jobs in a row mostly share name and queue: compare with the last one before the map.
  let lastName = '';
  let lastNameRef = -1;
  let lastQueue = '';
  let lastQueueRef = -1;
  /** Appends id, name#, queue#. */
  const jobRef = (cells: Cell[], id: string, name: string, queue: string): void => {
    if (name !== lastName || lastNameRef < 0) {
      lastName = name;
      lastNameRef = ref(name);
    }
    if (queue !== lastQueue || lastQueueRef < 0) {
      lastQueue = queue;
      lastQueueRef = ref(queue);
    }
    cells.push(id, lastNameRef, lastQueueRef);
  };
  /** Appends id, name#, queue#, attempt. */
  const job = (cells: Cell[], id: string, name: string, queue: string, attempt: number): void => {
    jobRef(cells, id, name, queue);
    cells.push(attempt);
  };
  const base = batch.firstAt;
  const groups: Cell[][] = [];
  // The number of each job object among the started entries encoded so far: a completion
  // can only name a job started before it in the message (the decoder reads in order).
  const startedNumbers = new Map<EventJob, number>();
  let startedCount = 0;
  for (const group of batch.groups) {
    if (group.kind === 'started') {
      const cells: Cell[] = [STARTED, ref(group.worker)];
      const { jobs, at } = group;
      for (let i = 0; i < jobs.length; i++) {
        const started = jobs[i]!;
        startedNumbers.set(started, startedCount++);
        const { id, name, queue, attempt } = started;
        job(cells, id, name, queue, attempt);
        cells.push(at[i]! - base);
      }
      groups.push(cells);
    } else if (group.kind === 'completed') {
      const cells: Cell[] = [COMPLETED, ref(group.worker), group.at - base];
      for (const entry of group.entries) {
        // a job started earlier in this message is named by its number there, not again in full
        const number = startedNumbers.get(entry.job);
        if (number === undefined) {
          const { id, name, queue, attempt } = entry.job;
          job(cells, id, name, queue, attempt);
        } else {
          cells.push(number);
        }
        cells.push(Math.round(entry.durationMs * 1000), entry.value);
      }
      groups.push(cells);
    } else if (group.kind === 'queued') {
      const cells: Cell[] = [QUEUED, group.at - base];
      for (const { id, name, queue } of group.jobs) jobRef(cells, id, name, queue);
      groups.push(cells);
    } else if (group.kind === 'progress') {
      const { event } = group;
      const cells: Cell[] = [PROGRESS];
      job(cells, event.id, event.name, event.queue, event.attempt);
      cells.push(
        ref(event.worker),
        event.at - base,
        event.progress,
        event.progressMessage,
        event.progressData,
      );
      groups.push(cells);
    } else {
      const { event } = group;
      const cells: Cell[] = [EVENT];
      job(cells, event.id, event.name, event.queue, event.attempt);
      cells.push(
        event.worker === undefined ? -1 : ref(event.worker),
        STATUS_NUMBER.get(event.status) ?? -1,
        event.at - base,
        event.durationMs === undefined ? -1 : Math.round(event.durationMs * 1000),
        extraOf(event),
      );
      groups.push(cells);
    }
  }
  return JSON.stringify({ v: 3, t: base, s: strings, g: groups } satisfies Message);
}

/**
 * Decodes a message from {@link encodeEvents}; anything else yields no events. Progress
 * reports come out too, in order, told apart by `isProgressEvent`.
 */
export function decodeEvents(message: string): JobStreamEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  if (!isMessage(parsed)) return [];
  const { t: base, s: strings } = parsed;
  const text = (cell: Cell | undefined): string | undefined => {
    const value = typeof cell === 'number' ? strings[cell] : undefined;
    return typeof value === 'string' ? value : undefined;
  };
  const events: JobStreamEvent[] = [];
  /** The jobs of the message's started groups, in order (undefined where malformed). */
  const started: (JobInfo | undefined)[] = [];
  for (const cells of parsed.g) {
    if (!Array.isArray(cells)) continue;
    const kind = cells[0];
    const worker = text(cells[1]);
    if (kind === STARTED) {
      // every entry takes its number, even unreadable ones, so later numbers still match
      for (let at = 2; at + STARTED_CELLS <= cells.length; at += STARTED_CELLS) {
        const job = worker === undefined ? undefined : jobAt(cells, at, text);
        started.push(job);
        const time = Number(cells[at + 4]);
        if (job && worker !== undefined && Number.isFinite(time)) {
          events.push(startedEvent(job, worker, base + time));
        }
      }
    } else if (kind === COMPLETED && worker !== undefined && Number.isFinite(Number(cells[2]))) {
      const completedAt = base + Number(cells[2]);
      for (let at = 3; at < cells.length; ) {
        // a number names a job started earlier in the message; a string begins a job in full
        const full = typeof cells[at] === 'string';
        const job = full ? jobAt(cells, at, text) : started[cells[at] as number];
        at += full ? 4 : 1;
        if (at + 2 > cells.length) break;
        const durationMs = Number(cells[at]) / 1000;
        const result = (cells[at + 1] ?? null) as JsonValue;
        at += 2;
        if (job && Number.isFinite(durationMs))
          events.push(completedEvent(job, worker, completedAt, result, durationMs));
      }
    } else if (kind === QUEUED && Number.isFinite(Number(cells[1]))) {
      const queuedAt = base + Number(cells[1]);
      for (let at = 2; at + QUEUED_CELLS <= cells.length; at += QUEUED_CELLS) {
        const id = cells[at];
        const name = text(cells[at + 1]);
        const queue = text(cells[at + 2]);
        if (typeof id === 'string' && name !== undefined && queue !== undefined) {
          events.push(queuedEvent({ id, name, queue }, queuedAt));
        }
      }
    } else if (kind === PROGRESS && cells.length >= PROGRESS_CELLS) {
      const job = jobAt(cells, 1, text);
      const reporter = text(cells[5]);
      const time = Number(cells[6]);
      const progress = cells[7];
      const progressMessage = cells[8];
      if (
        job &&
        reporter !== undefined &&
        Number.isFinite(time) &&
        typeof progress === 'number' &&
        (progressMessage === null || typeof progressMessage === 'string')
      ) {
        const event: JobProgressEvent = {
          kind: 'progress',
          ...job,
          at: base + time,
          worker: reporter,
          progress,
          progressMessage,
          progressData: (cells[9] ?? null) as JsonValue,
        };
        events.push(event);
      }
    } else if (kind === EVENT && cells.length >= EVENT_CELLS) {
      const job = jobAt(cells, 1, text);
      // a number only: a crafted 'length' or '__proto__' must not read a property of the array
      const statusNumber = cells[6];
      const status = typeof statusNumber === 'number' ? JOB_STATUSES[statusNumber] : undefined;
      if (job === undefined || status === undefined || !Number.isFinite(Number(cells[7]))) continue;
      const event: JobEvent = { ...job, status, at: base + Number(cells[7]) };
      const worker = text(cells[5]);
      if (worker !== undefined) event.worker = worker;
      const extra = cells[9];
      // only the extra fields: a crafted message must not replace the id or the status
      if (extra && typeof extra === 'object' && !Array.isArray(extra)) {
        const { runAt, result, error, resultOmitted } = extra as Extra;
        if (typeof runAt === 'number') event.runAt = runAt;
        if (result !== undefined) event.result = result;
        if (resultOmitted === true && status === 'completed') event.resultOmitted = true;
        if (error && typeof error === 'object' && typeof error.message === 'string') event.error = error;
      }
      const durationUs = Number(cells[8]);
      if (durationUs >= 0) event.durationMs = durationUs / 1000;
      if (status === 'completed' && event.result === undefined) event.result = null;
      events.push(event);
    }
  }
  return events;
}

interface JobInfo {
  id: string;
  name: string;
  queue: string;
  attempt: number;
}

/** The job cells (id, name#, queue#, attempt) starting at `at`, when well formed. */
function jobAt(
  cells: Cell[],
  at: number,
  text: (cell: Cell | undefined) => string | undefined,
): JobInfo | undefined {
  const id = cells[at];
  const name = text(cells[at + 1]);
  const queue = text(cells[at + 2]);
  const attempt = cells[at + 3];
  if (typeof id !== 'string' || name === undefined || queue === undefined || typeof attempt !== 'number') {
    return undefined;
  }
  return { id, name, queue, attempt };
}

function extraOf(event: JobEvent): Extra | 0 {
  const { runAt, result, error, resultOmitted } = event;
  const keepResult = result !== undefined && !(event.status === 'completed' && result === null);
  if (runAt === undefined && !keepResult && error === undefined && !resultOmitted) return 0;
  const extra: Extra = {};
  if (runAt !== undefined) extra.runAt = runAt;
  if (keepResult) extra.result = result;
  if (error !== undefined) extra.error = error;
  if (resultOmitted) extra.resultOmitted = true;
  return extra;
}

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Partial<Message>;
  return (
    message.v === 3 && typeof message.t === 'number' && Array.isArray(message.s) && Array.isArray(message.g)
  );
}
