/**
 * Collects the jobs that message handlers dispatch and stores them together: one driver
 * call per batch instead of one per message, which is what lets one MQTT connection ingest
 * far more than one Redis round trip per message would allow. A batch that cannot be
 * stored (Redis down) is retried with backoff until it is, so the messages waiting on it
 * stay unacknowledged and the broker keeps them: nothing is lost, ingest just pauses. A batch
 * refused for what it holds (a script error, a key of the wrong type) is stored job by job,
 * and a job refused alone fails its dispatch, so its message is dead-lettered.
 */
import type { Logger } from '../logger.js';
import type { NewJob, PushOutcome } from '../queue/driver.js';
import { isTopiqError } from '../errors.js';
import { PASSING_STATE_ANYWHERE as SERVER_STATE } from '../queue/drivers/redis/unavailable.js';
import { retryUntilDone } from '../support/retry.js';

/**
 * Whether a batch was refused for what it holds, so sending it again would fail the same way:
 * a key of the wrong type, an error raised by the script, a job Topiq refuses. Anything else
 * (Redis unreachable, loading, out of memory or disk, without its replicas...) passes and is
 * waited out.
 */
function refusedForContent(error: unknown): boolean {
  // a refused password is the server's state too: an operator sets it right, and the batch passes
  if (isTopiqError(error)) return error.code !== 'E_REDIS_UNAVAILABLE' && error.code !== 'E_REDIS_AUTH';
  if (!(error instanceof Error)) return false;
  return /^(WRONGTYPE|ERR)\b/.test(error.message) && !SERVER_STATE.test(error.message);
}

interface Waiting {
  job: NewJob;
  resolve: (outcome: PushOutcome) => void;
  reject: (error: Error) => void;
}

export class DispatchBatcher {
  readonly #write: (jobs: readonly NewJob[]) => Promise<readonly PushOutcome[]>;
  readonly #log: Logger;
  readonly #maxBatch: number;
  #pending: Waiting[] = [];
  #scheduled = false;
  #closed = false;

  /** `store` writes one batch and tells each job's outcome, e.g. `(jobs) => dispatcher.store(jobs)`. */
  constructor(
    store: (jobs: readonly NewJob[]) => Promise<readonly PushOutcome[]>,
    log: Logger,
    maxBatch = 1000,
  ) {
    this.#write = store;
    this.#log = log;
    this.#maxBatch = maxBatch;
  }

  /**
   * Queues a job; resolves once it is stored, to what storing it did (`duplicate` when a job
   * with its id exists already and nothing was added).
   */
  add(job: NewJob): Promise<PushOutcome> {
    return new Promise<PushOutcome>((resolve, reject) => {
      this.#pending.push({ job, resolve, reject });
      if (this.#pending.length >= this.#maxBatch) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Stops retrying: batches still unstored reject (their messages stay unacknowledged). */
  close(): void {
    this.#closed = true;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const batch = this.#pending.splice(0, this.#maxBatch);
    void this.#store(batch);
    if (this.#pending.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  async #store(batch: Waiting[]): Promise<void> {
    let failures = 0;
    let outcomes: readonly PushOutcome[];
    try {
      outcomes = await retryUntilDone(() => this.#write(batch.map((waiting) => waiting.job)), {
        // Refused for what it holds, it would be refused for good, holding every message
        // behind it unacknowledged. Anything else passes: wait for it.
        giveUp: (error) => this.#closed || refusedForContent(error),
        onError: (err, retryInMs) => {
          failures++;
          this.#log.error(
            { event: 'ingest.store_failed', err, count: batch.length, retryInMs },
            'could not store dispatched jobs; holding their messages unacknowledged and retrying',
          );
        },
      });
    } catch (error) {
      if (this.#closed || batch.length === 1) {
        for (const waiting of batch) waiting.reject(error as Error);
        return;
      }
      // one job may be the cause: each goes alone, and only those refused again fail (their
      // messages are dead-lettered; the others are stored and acknowledged). A job the refused
      // try stored already (its queue's call passed, another's failed) is answered the status
      // it was added in, not `duplicate`: the store knows its own push (`NewJob.pushToken`).
      this.#log.warn(
        { event: 'ingest.batch_refused', err: error, count: batch.length },
        'a batch of dispatched jobs was refused; storing them one by one',
      );
      await Promise.all(batch.map((waiting) => this.#store([waiting])));
      return;
    }
    for (const [index, waiting] of batch.entries()) waiting.resolve(outcomes[index]!); // the store answers one outcome per job
    if (failures > 0)
      this.#log.info({ event: 'ingest.resumed', count: batch.length }, 'jobs stored after retry');
  }
}
