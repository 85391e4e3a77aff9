/**
 * Job status changes collected for one message, in the order they happened.
 *
 * A busy worker raises two changes per job (running, then completed), tens of thousands a
 * second, so those two are kept without an event object each: the jobs one worker starts
 * one after another form one `started` group (the job and the time), and an
 * acknowledgement batch is one `completed` group holding the batch's entries as they are.
 * Likewise the jobs one dispatch call adds straight to their wait queues form one `queued` group.
 * Every other change is an `event` group of one {@link JobEvent}, and a running job's
 * stored progress report a `progress` group of one {@link JobProgressEvent}. A driver encodes
 * the groups (Redis, `event_codec.ts`) or expands them with {@link EventBatch.toStreamEvents}.
 */
import { isProgressEvent, type JobEvent, type JobProgressEvent, type JobStreamEvent } from './driver.js';
import type { JsonValue } from './json.js';

/** A job as a change names it. */
export interface EventJobRef {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
}

/** What a change made by a worker needs to know about its job. */
export interface EventJob extends EventJobRef {
  /** The attempt that changed (1-based). */
  readonly attempt: number;
}

/** One completed attempt of an acknowledgement batch. */
export interface CompletedEntry {
  readonly job: EventJob;
  /** The value `handle()` returned. */
  readonly value: JsonValue;
  readonly durationMs: number;
  /** `value` as JSON, when the caller has it (a worker's acknowledgement does): sizes messages. */
  readonly result?: string;
}

/** A run of consecutive changes that share a shape. */
export type EventGroup =
  | {
      readonly kind: 'started';
      readonly worker: string;
      readonly jobs: readonly EventJob[];
      readonly at: readonly number[];
    }
  | {
      readonly kind: 'completed';
      readonly worker: string;
      readonly at: number;
      readonly entries: readonly CompletedEntry[];
    }
  | { readonly kind: 'queued'; readonly at: number; readonly jobs: readonly EventJobRef[] }
  | { readonly kind: 'event'; readonly event: JobEvent }
  | { readonly kind: 'progress'; readonly event: JobProgressEvent };

/** The place {@link EventBatch.place} keeps: a `queued` group whose jobs come later. */
export interface QueuedPlace {
  readonly kind: 'queued';
  readonly at: number;
  jobs: readonly EventJobRef[];
}

export class EventBatch {
  readonly #groups: EventGroup[] = [];
  #size = 0;
  /** The places of this batch still waiting for their dispatch's answer. */
  readonly #open = new Set<EventGroup>();

  /** The changes, in order. */
  get groups(): readonly EventGroup[] {
    return this.#groups;
  }

  /** Changes held (a group holds one or more). */
  get size(): number {
    return this.#size;
  }

  /** `job` started running on `worker` at `at` (epoch ms). */
  started(job: EventJob, worker: string, at: number): void {
    const last = this.#groups[this.#groups.length - 1];
    if (last?.kind === 'started' && last.worker === worker) {
      // this batch built the arrays; they are read-only only to those it hands them to
      (last.jobs as EventJob[]).push(job);
      (last.at as number[]).push(at);
    } else {
      this.#groups.push({ kind: 'started', worker, jobs: [job], at: [at] });
    }
    this.#size++;
  }

  /** The attempts in `entries` completed on `worker` at `at`. The array is kept, not copied. */
  completed(entries: readonly CompletedEntry[], worker: string, at: number): void {
    if (entries.length === 0) return;
    this.#groups.push({ kind: 'completed', worker, at, entries });
    this.#size += entries.length;
  }

  /** The jobs in `jobs` were dispatched into their wait queues at `at`. The array is kept, not copied. */
  queued(jobs: readonly EventJobRef[], at: number): void {
    if (jobs.length === 0) return;
    this.#groups.push({ kind: 'queued', at, jobs });
    this.#size += jobs.length;
  }

  /**
   * Keeps a place for `queued` changes not known yet, at `at`: the jobs of a dispatch whose
   * store has not answered. {@link EventBatch.fill} puts them there; until then the place
   * holds no change, and a batch sent meanwhile sends none for it.
   */
  place(at: number): QueuedPlace {
    const group: QueuedPlace = { kind: 'queued', at, jobs: [] };
    this.#groups.push(group);
    this.#open.add(group);
    return group;
  }

  /** Whether `place` is in this batch, waiting for its dispatch's answer. */
  isOpen(place: QueuedPlace): boolean {
    return this.#open.has(place);
  }

  /** Gives up `place` (its dispatch failed, or its changes go elsewhere): it stays empty. */
  abandon(place: QueuedPlace): void {
    this.#open.delete(place);
  }

  /**
   * Takes the changes from the first place still open on (that place included) out of this
   * batch into a new one, which it returns, so they can wait for that place to be filled:
   * undefined, and nothing moved, when no place is open, when the first open one was kept
   * before `since` (epoch ms: its dispatch is slow, and the rest must not wait on it), or when
   * more than `most` changes would move.
   */
  splitAtOpenPlace(since: number, most: number): EventBatch | undefined {
    if (this.#open.size === 0) return undefined;
    const index = this.#groups.findIndex((group) => this.#open.has(group));
    const place = this.#groups[index] as QueuedPlace;
    if (place.at < since) return undefined;
    const moved = this.#groups.slice(index);
    let size = 0;
    for (const group of moved) size += changesIn(group);
    if (size > most) return undefined;
    const rest = new EventBatch();
    this.#groups.length = index;
    this.#size -= size;
    rest.#groups.push(...moved);
    rest.#size = size;
    for (const group of moved) if (this.#open.delete(group)) rest.#open.add(group);
    return rest;
  }

  /**
   * Puts `jobs` in `place` (kept, not copied), which this batch made and holds empty, and
   * `events` right after it, in order.
   */
  fill(place: QueuedPlace, jobs: readonly EventJobRef[], events: readonly JobEvent[] = []): void {
    this.#open.delete(place);
    place.jobs = jobs;
    this.#size += jobs.length;
    if (events.length === 0) return;
    const groups: EventGroup[] = events.map((event) => ({ kind: 'event', event }));
    this.#groups.splice(this.#groups.indexOf(place) + 1, 0, ...groups);
    this.#size += events.length;
  }

  /** Any other change. */
  event(event: JobEvent): void {
    this.#groups.push({ kind: 'event', event });
    this.#size++;
  }

  /** A running job's progress report (not a change of status, yet sent with them, in order). */
  progress(event: JobProgressEvent): void {
    this.#groups.push({ kind: 'progress', event });
    this.#size++;
  }

  /** Epoch ms of the first change (0 when empty). */
  get firstAt(): number {
    const first = this.#groups[0];
    if (first === undefined) return 0;
    if (first.kind === 'started') return first.at[0]!;
    return first.kind === 'event' || first.kind === 'progress' ? first.event.at : first.at;
  }

  /** The changes of status as event objects, in order (no progress reports). */
  toEvents(): JobEvent[] {
    return this.toStreamEvents().filter((event): event is JobEvent => !isProgressEvent(event));
  }

  /** The changes of status and the progress reports as event objects, in order. */
  toStreamEvents(): JobStreamEvent[] {
    const events: JobStreamEvent[] = [];
    for (const group of this.#groups) {
      if (group.kind === 'event' || group.kind === 'progress') {
        events.push(group.event);
      } else if (group.kind === 'queued') {
        for (const job of group.jobs) events.push(queuedEvent(job, group.at));
      } else if (group.kind === 'started') {
        group.jobs.forEach((job, index) => {
          events.push(startedEvent(job, group.worker, group.at[index]!));
        });
      } else {
        for (const entry of group.entries) {
          events.push(completedEvent(entry.job, group.worker, group.at, entry.value, entry.durationMs));
        }
      }
    }
    return events;
  }
}

/** How many changes `group` holds. */
function changesIn(group: EventGroup): number {
  if (group.kind === 'started' || group.kind === 'queued') return group.jobs.length;
  return group.kind === 'completed' ? group.entries.length : 1;
}

/** The `queued` event of a dispatched job. */
export function queuedEvent(job: EventJobRef, at: number): JobEvent {
  return { id: job.id, name: job.name, queue: job.queue, status: 'queued', attempt: 0, at };
}

/** The `running` event of a started job. */
export function startedEvent(job: EventJob, worker: string, at: number): JobEvent {
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    status: 'running',
    attempt: job.attempt,
    at,
    worker,
  };
}

/** The `completed` event of an acknowledged job. */
export function completedEvent(
  job: EventJob,
  worker: string,
  at: number,
  result: JsonValue,
  durationMs: number,
): JobEvent {
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    status: 'completed',
    attempt: job.attempt,
    at,
    worker,
    result,
    durationMs,
  };
}
