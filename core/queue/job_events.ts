/**
 * Publishes job status changes. Changes raised within a short window (10 ms by default,
 * or until about 1,000 are waiting, or about a megabyte of results, errors and progress data;
 * see {@link MAX_EVENT_RESULT_BYTES}) go out as one message (one Redis PUBLISH), so a worker
 * completing tens of thousands of jobs a second sends a few hundred messages, not one per
 * job. The two changes every job goes through on a worker, running and completed, are
 * collected without building an event object per job (see {@link EventBatch}). Each
 * PUBLISH is a socket write, which the queue bench prints per job
 * (`npm run bench -- --only=queue`, last column). While no process listens, changes are
 * not even recorded: the publisher asks the driver once per window. Disabled, it costs nothing.
 */
import {
  isProgressEvent,
  type JobEvent,
  type JobEventListener,
  type JobEventListenerError,
  type JobEventListeners,
  type JobStatus,
  type JobStreamEvent,
  type QueueDriver,
  type StoredError,
} from './driver.js';
import { type CompletedEntry, EventBatch, type EventJob, type EventJobRef } from './event_batch.js';
import type { JsonValue } from './json.js';
import { MAX_PROGRESS_DATA_BYTES } from './progress_writer.js';

/** A dispatched job's first change other than a plain `queued`: delayed, pending, or queued with a due `runAt`. */
export interface PlacedChange {
  readonly job: EventJobRef;
  readonly status: JobStatus;
  readonly runAt?: number;
}

/** The event of a change of `job` to `status` at `at`, with what else is known of it. */
function jobEvent(
  job: EventJobRef,
  status: JobStatus,
  attempt: number,
  at: number,
  worker?: string,
  extra?: Pick<JobEvent, 'runAt' | 'result' | 'error' | 'durationMs'>,
): JobEvent {
  const event: JobEvent = { id: job.id, name: job.name, queue: job.queue, status, attempt, at };
  if (worker !== undefined) event.worker = worker;
  if (extra) Object.assign(event, extra);
  return event;
}

/**
 * The longest result, in bytes of JSON (UTF-8), that a `completed` event carries (as much as a
 * progress report's data): one longer goes without it (`resultOmitted: true`), to be read from
 * the record. An acknowledgement batch of 1,000 completions then sends at most about 16 MB of
 * results, under the output buffer Redis allows a subscriber (32 MB by default), past which it
 * closes the listener's connection and the events in it and those sent meanwhile are lost. A
 * listener in the worker's own process (the MQTT bridge of `serve --workers`) reads none of
 * them until the worker's turn of the event loop ends, so the bound must hold per batch.
 */
export const MAX_EVENT_RESULT_BYTES = 16 * 1024;

/**
 * About what a message may hold, in bytes of results, errors and progress data, before it is
 * sent: large messages cost the listeners (and the MQTT bridge) memory in one piece. Short
 * values are counted by their characters (up to 3 bytes each), so a message may hold up to 3 MB.
 */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * The size of a result's JSON: its characters while they cannot pass the cap even at 3 bytes
 * each (the usual case, measured for free), else its UTF-8 bytes.
 */
function resultBytes(result: string | undefined): number {
  if (result === undefined) return 0;
  return result.length * 3 <= MAX_EVENT_RESULT_BYTES ? result.length : Buffer.byteLength(result);
}

/**
 * Longest the changes recorded after a dispatch's place wait for its store to answer, in ms:
 * past that, they are sent, and the dispatch's `queued` changes follow them.
 */
const PLACE_WAIT_MS = 1000;

/** Collects job events and hands them to the driver in batches. */
export class JobEventPublisher {
  readonly #driver: QueueDriver;
  readonly enabled: boolean;
  readonly #flushIntervalMs: number;
  readonly #maxBatch: number;
  readonly #maxBytes: number;
  #batch = new EventBatch();
  /** Characters of results, errors and progress data in the batch (see {@link MAX_MESSAGE_BYTES}). */
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  /**
   * Whether the changes of the current window (from the first change after a flush to the
   * next flush) are recorded: asked of the driver once when the window opens, so a worker
   * that nobody listens to does no work per change but this check.
   */
  #window: 'recording' | 'skipping' | undefined;

  /**
   * @param options.flushIntervalMs - longest an event waits to be sent (default 10)
   * @param options.maxBatch - events that trigger a send at once (default 1000)
   * @param options.maxBytes - about how many bytes of results, errors and progress data trigger a send
   *   at once (default about a million, so a message stays far below what Redis lets a subscriber hold)
   */
  constructor(
    driver: QueueDriver,
    enabled = true,
    options: { flushIntervalMs?: number; maxBatch?: number; maxBytes?: number } = {},
  ) {
    this.#driver = driver;
    this.enabled = enabled;
    this.#flushIntervalMs = options.flushIntervalMs ?? 10;
    // Large enough that most jobs start and complete within one message, where the completion
    // names the job by number instead of repeating it (see event_codec.ts).
    this.#maxBatch = options.maxBatch ?? 1000;
    this.#maxBytes = options.maxBytes ?? MAX_MESSAGE_BYTES;
  }

  /** Records that job `id` entered `status`, as seen by `worker` when a worker made the change. */
  emit(
    job: { id: string; name: string; queue: string },
    status: JobStatus,
    attempt: number,
    worker?: string,
    extra?: {
      runAt?: number;
      result?: JsonValue;
      error?: StoredError;
      durationMs?: number;
      resultOmitted?: true;
    },
  ): void {
    if (!this.#recording()) return;
    this.#batch.event(jobEvent(job, status, attempt, Date.now(), worker, extra));
    const { error } = extra ?? {};
    if (error) this.#bytes += error.message.length + (error.stack?.length ?? 0);
    this.#added();
  }

  /**
   * Records that `jobs` entered their wait queues (status `queued`): dispatched, or moved back
   * by a retry. The array is kept as it is, or cut into messages of `maxBatch` jobs when it is
   * longer (one message for a huge array could pass Redis's 32 MB limit for a subscriber).
   */
  queued(jobs: readonly EventJobRef[]): void {
    const at = Date.now();
    for (let start = 0; start < jobs.length; start += this.#maxBatch) {
      if (!this.#recording()) return;
      this.#batch.queued(
        jobs.length <= this.#maxBatch ? jobs : jobs.slice(start, start + this.#maxBatch),
        at,
      );
      this.#added();
    }
  }

  /**
   * Keeps the place of the `queued` changes of a dispatch before its store answers, and returns
   * the function that records them there. A worker of this process, woken by that store, may
   * record `running` for those jobs before the store's answer reaches the dispatcher; in the
   * same message, `queued` still comes first. If the message was sent meanwhile, they are
   * recorded as {@link JobEventPublisher.queued} records them.
   */
  placeQueued(): (jobs: readonly EventJobRef[], others?: readonly PlacedChange[]) => void {
    const later = (jobs: readonly EventJobRef[], others: readonly PlacedChange[] = []) => {
      this.queued(jobs);
      for (const { job, status, runAt } of others) {
        this.emit(job, status, 0, undefined, runAt === undefined ? undefined : { runAt });
      }
    };
    if (!this.#recording()) return later;
    const at = Date.now();
    const place = this.#batch.place(at);
    return (jobs, others = []) => {
      // the changes recorded after the place wait for it in the current batch (see flush), unless
      // it was sent without them: its dispatch took over PLACE_WAIT_MS, or too much came after
      const open = this.#batch.isOpen(place);
      this.#batch.abandon(place);
      if (jobs.length === 0 && others.length === 0) return; // (a dispatch that failed says so)
      if (!open || !this.#recording()) {
        later(jobs, others);
        return;
      }
      // at most maxBatch changes in the place, as in any message; the rest after, cut as
      // queued() and emit() cut them (their order against a worker's changes is not kept)
      const room = this.#maxBatch;
      const placedJobs = jobs.length <= room ? jobs : jobs.slice(0, room);
      const placedOthers =
        others.length <= room - placedJobs.length ? others : others.slice(0, room - placedJobs.length);
      const events = placedOthers.map(({ job, status, runAt }) =>
        jobEvent(job, status, 0, at, undefined, runAt === undefined ? undefined : { runAt }),
      );
      this.#batch.fill(place, placedJobs, events);
      this.#added();
      if (placedJobs.length < jobs.length || placedOthers.length < others.length) {
        later(jobs.slice(placedJobs.length), others.slice(placedOthers.length));
      }
    };
  }

  /** Records that `worker` started running `job` (status `running`). */
  started(job: EventJob, worker: string): void {
    if (!this.#recording()) return;
    this.#batch.started(job, worker, Date.now());
    this.#added();
  }

  /**
   * Records that the attempts in `entries` completed on `worker`; the array is kept as it is,
   * unless their results (sized by `result`, their JSON) call for more than one message. A
   * result over {@link MAX_EVENT_RESULT_BYTES} is left out of its event (`resultOmitted`).
   */
  completed(entries: readonly CompletedEntry[], worker: string): void {
    if (entries.length === 0 || !this.#recording()) return;
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const size = resultBytes(entries[i]!.result);
      if (size <= MAX_EVENT_RESULT_BYTES && this.#bytes + bytes + size <= this.#maxBytes) {
        bytes += size;
        continue;
      }
      if (i > from) this.#addCompleted(entries.slice(from, i), worker, bytes);
      if (size > MAX_EVENT_RESULT_BYTES) {
        const { job, durationMs } = entries[i]!;
        this.emit(job, 'completed', job.attempt, worker, { durationMs, result: null, resultOmitted: true });
        from = i + 1;
        bytes = 0;
      } else {
        // the message is full: this entry opens the next one
        if (this.#batch.size > 0) this.flush();
        if (!this.#recording()) return;
        from = i;
        bytes = size;
      }
    }
    if (from < entries.length) this.#addCompleted(from === 0 ? entries : entries.slice(from), worker, bytes);
  }

  #addCompleted(entries: readonly CompletedEntry[], worker: string, bytes: number): void {
    if (!this.#recording()) return;
    this.#batch.completed(entries, worker, Date.now());
    this.#bytes += bytes;
    this.#added();
  }

  /**
   * Records that the progress of `job`'s running attempt on `worker` was stored: not a change
   * of status, sent in the same messages, and only while a process listens. `dataLength`, the
   * length of `progressData` as JSON, sizes the message (without it, the data counts at its bound).
   */
  progress(
    job: EventJob,
    worker: string,
    progress: number,
    progressMessage: string | null,
    progressData: JsonValue | null = null,
    dataLength?: number,
  ): void {
    if (!this.#recording()) return;
    const { id, name, queue, attempt } = job;
    this.#batch.progress({
      kind: 'progress',
      id,
      name,
      queue,
      attempt,
      at: Date.now(),
      worker,
      progress,
      progressMessage,
      progressData,
    });
    // the data's JSON length when the caller has it (the worker does), else its bound in full
    if (progressData !== null) this.#bytes += dataLength ?? MAX_PROGRESS_DATA_BYTES;
    if (progressMessage !== null) this.#bytes += progressMessage.length;
    this.#added();
  }

  /**
   * Sends what is buffered now, or drops it when no process listens to job events: a
   * publish-subscribe message reaches only those subscribed when it is sent, so encoding one
   * for nobody is wasted work (see `QueueDriver.hasEventListeners`). What waits for a dispatch's
   * answer stays for the next message, unless `all` (a process closing sends everything).
   */
  flush(all = false): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#window = undefined;
    const bytes = this.#bytes;
    this.#bytes = 0;
    if (this.#batch.groups.length === 0) return;
    const batch = this.#batch;
    // What came after a dispatch whose store has not answered yet waits for its answer, in the
    // next message: a worker of this process may have started those very jobs, and their
    // `running` must not go out before their `queued`. Not for long, nor for much (a store
    // that does not answer must not hold back every event behind it): half a message of
    // changes, and of bytes.
    const rest =
      all || bytes > this.#maxBytes / 2
        ? undefined
        : batch.splitAtOpenPlace(Date.now() - PLACE_WAIT_MS, this.#maxBatch / 2);
    this.#batch = rest ?? new EventBatch();
    // what waits is counted as all of this batch's bytes: at most half a message, and the next
    // message is sent no later than it should be
    if (rest) this.#bytes = bytes;
    // what waits is sent with the next window, at most flushIntervalMs from now
    if (rest) this.#recording();
    if (batch.size === 0) return;
    if (this.#driver.hasEventListeners?.() === false) return;
    this.#driver.publishEvents(batch);
  }

  /**
   * Whether to record a change now. The first change after a flush opens a window, which
   * asks the driver whether any process listens and ends at the next flush, at most
   * `flushIntervalMs` later. While nobody listens, the changes of the window are not recorded:
   * a listener that subscribes meanwhile hears from the next window on, so it misses up to
   * `flushIntervalMs` of changes (on Redis, on top of the round trip its announcement takes).
   */
  #recording(): boolean {
    if (!this.enabled) return false;
    if (this.#window === undefined) {
      this.#window = this.#driver.hasEventListeners?.() === false ? 'skipping' : 'recording';
      this.#timer = setTimeout(() => this.flush(), this.#flushIntervalMs);
    }
    return this.#window === 'recording';
  }

  #added(): void {
    if (this.#batch.size >= this.#maxBatch || this.#bytes >= this.#maxBytes) this.flush();
  }
}

/**
 * `listener`, made safe to call once per event from a loop over a message's events: when it
 * throws, or returns a promise that rejects (an `async` listener), the error goes to
 * `onError` (or is dropped) and the caller goes on with the next event, so one bad event
 * neither costs a listener the rest of its batch nor ends the process as an unhandled
 * rejection. An `onError` that throws is ignored too.
 */
export function guardedListener<E extends JobStreamEvent>(
  listener: (event: E) => void,
  onError?: JobEventListenerError,
): (event: E) => void {
  const report = (error: unknown, event: E): void => {
    try {
      onError?.(error, event);
    } catch {
      // the reporter failed as well; the next event is still delivered
    }
  };
  return (event) => {
    try {
      // typed as returning void, yet an async function is accepted there and returns a promise
      const returned: unknown = listener(event);
      if (isThenable(returned)) returned.then(undefined, (error: unknown) => report(error, event));
    } catch (error) {
      report(error, event);
    }
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * One function for a subscription's listeners: it hands each event of the stream to the
 * listener of its kind (a bare function hears changes of status only), each guarded as by
 * {@link guardedListener}.
 */
export function streamListener(
  listeners: JobEventListener | JobEventListeners,
  onError?: JobEventListenerError,
): (event: JobStreamEvent) => void {
  const { status, progress } = typeof listeners === 'function' ? { status: listeners } : listeners;
  const onStatus = status && guardedListener(status, onError);
  const onProgress = progress && guardedListener(progress, onError);
  return (event) => {
    if (isProgressEvent(event)) onProgress?.(event);
    else onStatus?.(event);
  };
}
