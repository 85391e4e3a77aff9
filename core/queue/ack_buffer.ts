/**
 * Batches acknowledgements. Completions that arrive while a flush is in flight (or in
 * the same turn of the event loop) share the next driver call, so a busy worker sends
 * one `complete` per batch instead of one per job. A failed flush keeps its batch and
 * sends that same array again before anything else: the driver may have stored it and lost
 * the reply, and given the same array it answers as that run did (`QueueDriver.complete`).
 * If the leases expire meanwhile, the jobs run again (at least once). Each entry is reported
 * once its fate is known: stored, or refused (lease lost).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { backoffMs } from '../support/retry.js';
import type { Completion, QueueDriver, ReservedJob } from './driver.js';
import type { JsonValue } from './json.js';
import { distinctQueues } from './names.js';

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

export class AckBuffer {
  readonly #driver: QueueDriver;
  readonly #log: Logger;
  readonly #outcomes: AckOutcomes;
  #pending: AckEntry[] = [];
  /** A batch whose call failed, sent again as it is before any other. */
  #retry: AckEntry[] | undefined;
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  #failures = 0;

  constructor(driver: QueueDriver, log: Logger, outcomes: AckOutcomes) {
    this.#driver = driver;
    this.#log = log;
    this.#outcomes = outcomes;
  }

  get size(): number {
    return this.#pending.length + (this.#retry?.length ?? 0);
  }

  /** Queues one completion; it is sent with the next batch. */
  add(completion: AckEntry): void {
    this.#pending.push(completion);
    if (!this.#scheduled && !this.#flushing) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#run();
      });
    }
  }

  /**
   * Sends everything queued so far; resolves when it is stored, or gives up after `attempts`
   * tries. A failed try is followed by the same backoff as in the background (0.2 s, doubling:
   * about 3 s for 5 tries), so a Redis that answers LOADING or BUSY for a moment (a restart, a
   * failover) is waited out. What is still unsent then is logged (`ack.gave_up`): those jobs
   * run again when their leases end.
   */
  async flush(attempts = 5): Promise<void> {
    for (let i = 0; i < attempts && (this.size > 0 || this.#flushing); i++) {
      if (!this.#flushing && this.#failures > 0) await sleep(backoffMs(this.#failures));
      await (this.#flushing ?? this.#run());
    }
    if (this.size > 0) {
      const unsent = [...(this.#retry ?? []), ...this.#pending];
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

  #run(): Promise<void> {
    if (this.#flushing || this.size === 0) return this.#flushing ?? Promise.resolve();
    const batch = this.#retry ?? this.#pending.splice(0, MAX_BATCH);
    this.#retry = undefined;
    this.#flushing = this.#send(batch).finally(() => {
      this.#flushing = undefined;
      if (this.size > 0) setTimeout(() => void this.#run(), backoffMs(this.#failures)).unref();
    });
    return this.#flushing;
  }

  async #send(batch: AckEntry[]): Promise<void> {
    let stored: boolean[];
    try {
      stored = await this.#driver.complete(batch);
      this.#failures = 0;
    } catch (error) {
      this.#failures++;
      this.#retry = batch;
      this.#log.error(
        { err: error, event: 'ack.retry', count: batch.length },
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
    if (kept.length > 0) this.#outcomes.stored(kept);
    for (const entry of refused) this.#outcomes.lost(entry);
  }
}
