/**
 * Job status changes collected for one message, in the order they happened.
 *
 * A busy worker raises two changes per job (running, then completed), tens of thousands a
 * second, so those two are kept without an event object each: the jobs one worker starts
 * one after another form one `started` group (the job and the time), and an
 * acknowledgement batch is one `completed` group holding the batch's entries as they are.
 * Every other change is an `event` group of one {@link JobEvent}. A driver encodes the
 * groups (Redis, `event_codec.ts`) or expands them with {@link EventBatch.toEvents}.
 */
import type { JobEvent } from './driver.js';
import type { JsonValue } from './json.js';

/** What a change needs to know about its job. */
export interface EventJob {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** The attempt that changed (1-based). */
  readonly attempt: number;
}

/** One completed attempt of an acknowledgement batch. */
export interface CompletedEntry {
  readonly job: EventJob;
  /** The value `handle()` returned. */
  readonly value: JsonValue;
  readonly durationMs: number;
}

/** A run of consecutive changes that share a shape. */
export type EventGroup =
  | { readonly kind: 'started'; readonly worker: string; readonly jobs: EventJob[]; readonly at: number[] }
  | {
      readonly kind: 'completed';
      readonly worker: string;
      readonly at: number;
      readonly entries: readonly CompletedEntry[];
    }
  | { readonly kind: 'event'; readonly event: JobEvent };

export class EventBatch {
  readonly groups: EventGroup[] = [];
  /** Changes held (a group holds one or more). */
  size = 0;
  /** Jobs started in this batch, numbered in order: a later change can name a job by number. */
  readonly #startedNumbers = new Map<EventJob, number>();

  /** `job` started running on `worker` at `at` (epoch ms). */
  started(job: EventJob, worker: string, at: number): void {
    this.#startedNumbers.set(job, this.#startedNumbers.size);
    const last = this.groups[this.groups.length - 1];
    if (last?.kind === 'started' && last.worker === worker) {
      last.jobs.push(job);
      last.at.push(at);
    } else {
      this.groups.push({ kind: 'started', worker, jobs: [job], at: [at] });
    }
    this.size++;
  }

  /** The attempts in `entries` completed on `worker` at `at`. The array is kept, not copied. */
  completed(entries: readonly CompletedEntry[], worker: string, at: number): void {
    if (entries.length === 0) return;
    this.groups.push({ kind: 'completed', worker, at, entries });
    this.size += entries.length;
  }

  /** Any other change. */
  event(event: JobEvent): void {
    this.groups.push({ kind: 'event', event });
    this.size++;
  }

  /** The number of `job` (the same object) among the jobs started in this batch, if it is one. */
  startedNumber(job: EventJob): number | undefined {
    return this.#startedNumbers.get(job);
  }

  /** Epoch ms of the first change (0 when empty). */
  get firstAt(): number {
    const first = this.groups[0];
    if (first === undefined) return 0;
    return first.kind === 'started' ? first.at[0]! : first.kind === 'completed' ? first.at : first.event.at;
  }

  /** The changes as event objects, in order. */
  toEvents(): JobEvent[] {
    const events: JobEvent[] = [];
    for (const group of this.groups) {
      if (group.kind === 'event') {
        events.push(group.event);
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
