/**
 * Batches acknowledgements. Completions that arrive while a flush is in flight (or in
 * the same turn of the event loop) share the next driver call, so a busy worker sends
 * one `complete` per batch instead of one per job. Each queue has a lane of its own: a queue
 * whose calls fail (a key of it replaced by hand, which Redis refuses until it is mended)
 * holds back its own completions only, not those of the worker's other queues. A failed
 * flush keeps its batch and sends that same array again before anything else of its queue:
 * the driver may have stored it and lost the reply, and given the same array it answers as
 * that run did (`QueueDriver.complete`). The worker renews the leases of what waits here
 * ({@link AckBuffer.leases}); if they lapse all the same (Redis away), the jobs run again (at
 * least once). Each entry is reported once its fate is known: stored, or refused (lease lost).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { backoffMs } from '../support/retry.js';
import type { Completion, Lease, QueueDriver, ReservedJob } from './driver.js';
import type { JsonValue } from './json.js';
import type { JobEventPublisher } from './job_events.js';
import { distinctQueues, jobFields } from './names.js';

/** A completion with what its `completed` event needs once it is stored. */
export interface AckEntry extends Completion {
  job: ReservedJob;
  /** The value `handle()` returned. */
  value: JsonValue;
  durationMs: number;
}

/** What becomes of the entries: stored (per batch, in order), or refused (per entry). */
export interface AckOutcomes {
  stored(entries: readonly AckEntry[]): void;
  lost(entry: AckEntry): void;
}

const MAX_BATCH = 1000;

/**
 * A worker's outcomes: a stored batch announced (`events.completed`) and logged
 * (`job.completed`, one line a job), a refused entry logged as `job.lease_lost`. Announced and
 * logged once stored: a completion refused for a lost lease is not a completed job.
 */
export function workerOutcomes(
  log: Logger,
  events: Pick<JobEventPublisher, 'completed'> | undefined,
  worker: string,
): AckOutcomes {
  return {
    stored: (entries) => {
      events?.completed(entries, worker);
      if (!log.isLevelEnabled('info')) return;
      for (const { job, durationMs } of entries) {
        log.info({ event: 'job.completed', ...jobFields(job), durationMs }, 'job completed');
      }
    },
    lost: ({ job, durationMs }) =>
      log.warn(
        { event: 'job.lease_lost', ...jobFields(job), durationMs },
        'completed after its lease was lost; it runs again',
      ),
  };
}

/** The completions of one queue, sent one batch at a time. */
interface Lane {
  pending: AckEntry[];
  /** A batch whose call failed, sent again as it is before any other of the queue. */
  retry: AckEntry[] | undefined;
  /** The batch in flight. */
  sending: AckEntry[] | undefined;
  flushing: Promise<void> | undefined;
  scheduled: boolean;
  failures: number;
  /** The background retry after a failed call, which a flush takes over, and when it is due (epoch ms). */
  retryTimer: NodeJS.Timeout | undefined;
  retryAt: number;
}

export class AckBuffer {
  readonly #driver: QueueDriver;
  readonly #log: Logger;
  readonly #outcomes: AckOutcomes;
  /** By queue: a worker's few queues, each with its lane for good. */
  readonly #lanes = new Map<string, Lane>();

  constructor(driver: QueueDriver, log: Logger, outcomes: AckOutcomes) {
    this.#driver = driver;
    this.#log = log;
    this.#outcomes = outcomes;
  }

  /** How many completions are not acknowledged yet (those in flight aside). */
  get size(): number {
    let size = 0;
    for (const lane of this.#lanes.values()) size += laneSize(lane);
    return size;
  }

  /** The leases of every completion not acknowledged yet, those in flight included. */
  get leases(): Lease[] {
    const leases: Lease[] = [];
    for (const { pending, retry, sending } of this.#lanes.values()) {
      for (const batch of [sending, retry, pending])
        for (const entry of batch ?? []) leases.push(entry.lease);
    }
    return leases;
  }

  /** Queues one completion; it is sent with the next batch of its queue. */
  add(completion: AckEntry): void {
    const { queue } = completion.lease;
    let lane = this.#lanes.get(queue);
    if (lane === undefined) {
      lane = {
        pending: [],
        retry: undefined,
        sending: undefined,
        flushing: undefined,
        scheduled: false,
        failures: 0,
        retryTimer: undefined,
        retryAt: 0,
      };
      this.#lanes.set(queue, lane);
    }
    lane.pending.push(completion);
    if (!lane.scheduled && !lane.flushing) {
      lane.scheduled = true;
      const scheduled = lane;
      setImmediate(() => {
        scheduled.scheduled = false;
        // a lane with a failed batch waits for its retry (a timer, or a flush's), not for adds
        if (scheduled.retry === undefined) void this.#run(scheduled);
      });
    }
  }

  /**
   * Sends everything queued so far; resolves when it is stored, or gives up after `attempts`
   * failed tries in a row of a queue (a stored batch of up to 1,000 is not a try, so any
   * backlog is sent while Redis answers). A failed try is followed by the same backoff as in the background (0.2 s, doubling:
   * about 3 s for 5 tries), so a Redis that answers LOADING or BUSY for a moment (a restart, a
   * failover) is waited out. The queues' lanes are flushed side by side. What is still unsent
   * then is logged (`ack.gave_up`): those jobs run again when their leases end.
   */
  async flush(attempts = 5): Promise<void> {
    // lanes side by side, each up to `attempts` tries; one made meanwhile (a queue's first
    // completion while the others flush) is flushed too
    const tried = new Map<Lane, number>();
    for (;;) {
      const due = [...this.#lanes.values()].filter(
        (lane) => (laneSize(lane) > 0 || lane.flushing) && (tried.get(lane) ?? 0) < attempts,
      );
      if (due.length === 0) break;
      await Promise.all(
        due.map(async (lane) => {
          if (!lane.flushing && lane.failures > 0) {
            // one retry at a time: the background's would double the failures, and the waits;
            // taken over when it was due, not a whole backoff from now
            const wait = lane.retryTimer ? Math.max(0, lane.retryAt - Date.now()) : backoffMs(lane.failures);
            clearTimeout(lane.retryTimer);
            lane.retryTimer = undefined;
            await sleep(wait);
          }
          await (lane.flushing ?? this.#run(lane));
          // a stored batch is progress, not a try: a backlog of many batches is all sent
          tried.set(lane, lane.failures > 0 ? (tried.get(lane) ?? 0) + 1 : 0);
        }),
      );
    }
    // a lane out of tries may have a call in flight (its background retry came due while another
    // lane still flushed): its outcome decides what is unsent
    const inFlight = [...this.#lanes.values()].flatMap((lane) => (lane.flushing ? [lane.flushing] : []));
    if (inFlight.length > 0) await Promise.all(inFlight);
    if (this.size > 0) {
      const unsent = [...this.#lanes.values()].flatMap((lane) => [...(lane.retry ?? []), ...lane.pending]);
      this.#log.error(
        {
          event: 'ack.gave_up',
          count: unsent.length,
          jobIds: unsent.map((entry) => entry.lease.id),
          queues: distinctQueues(unsent.map((entry) => entry.lease)),
          tries: attempts,
        },
        'could not acknowledge completed jobs; they run again when their leases end',
      );
    }
  }

  #run(lane: Lane): Promise<void> {
    if (lane.flushing || laneSize(lane) === 0) return lane.flushing ?? Promise.resolve();
    const batch = lane.retry ?? lane.pending.splice(0, MAX_BATCH);
    lane.retry = undefined;
    lane.sending = batch;
    lane.flushing = this.#send(lane, batch).finally(() => {
      lane.flushing = undefined;
      lane.sending = undefined;
      if (laneSize(lane) === 0) return;
      clearTimeout(lane.retryTimer);
      lane.retryAt = Date.now() + backoffMs(lane.failures);
      lane.retryTimer = setTimeout(() => {
        lane.retryTimer = undefined;
        void this.#run(lane);
      }, backoffMs(lane.failures)).unref();
    });
    return lane.flushing;
  }

  async #send(lane: Lane, batch: AckEntry[]): Promise<void> {
    let stored: boolean[];
    try {
      stored = await this.#driver.complete(batch);
      lane.failures = 0;
    } catch (error) {
      lane.failures++;
      lane.retry = batch;
      this.#log.error(
        { err: error, event: 'ack.retry', count: batch.length, queue: batch[0]?.lease.queue },
        'could not acknowledge jobs; retrying',
      );
      return;
    }
    // Outside the try: a throwing listener must not send a stored batch again. An entry the
    // reply has no answer for (a driver answering short) is reported neither way.
    const kept: AckEntry[] = [];
    const refused: AckEntry[] = [];
    batch.forEach((entry, index) => {
      if (stored[index] === true) kept.push(entry);
      else if (stored[index] === false) refused.push(entry);
    });
    // a listener that throws loses its own work only: the batch is stored, the flush goes on
    if (kept.length > 0) this.#report(() => this.#outcomes.stored(kept), kept, 'acknowledged');
    for (const entry of refused) this.#report(() => this.#outcomes.lost(entry), [entry], 'refused');
  }

  /** Runs an outcome listener; one that throws is logged (`ack.listener_failed`). */
  #report(listener: () => void, entries: readonly AckEntry[], outcome: 'acknowledged' | 'refused'): void {
    try {
      listener();
    } catch (error) {
      this.#log.error(
        {
          err: error,
          event: 'ack.listener_failed',
          outcome,
          count: entries.length,
          jobIds: entries.map((entry) => entry.lease.id),
          queue: entries[0]?.lease.queue,
        },
        `a listener of ${outcome} jobs failed; the jobs are ${outcome} all the same`,
      );
    }
  }
}

/** The completions of `lane` not acknowledged yet, but those in flight. */
function laneSize(lane: Lane): number {
  return lane.pending.length + (lane.retry?.length ?? 0);
}
