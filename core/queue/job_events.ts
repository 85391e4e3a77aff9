/**
 * Publishes job status changes. Events raised within a short window (10 ms by default,
 * or until 500 are waiting) go out as one message (one Redis PUBLISH), so a worker
 * completing tens of thousands of jobs a second sends a few hundred messages, not one per
 * job. Each PUBLISH is a socket write, which the queue bench prints per job
 * (`npm run bench -- --only=queue`, last column). Disabled, it costs nothing.
 */
import type { JobEvent, JobStatus, QueueDriver, StoredError } from './driver.js';
import type { JsonValue } from './json.js';

/** Collects job events and hands them to the driver in batches. */
export class JobEventPublisher {
  readonly #driver: QueueDriver;
  readonly enabled: boolean;
  readonly #flushIntervalMs: number;
  readonly #maxBatch: number;
  #buffer: JobEvent[] = [];
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param options.flushIntervalMs - longest an event waits to be sent (default 10)
   * @param options.maxBatch - events that trigger a send at once (default 500)
   */
  constructor(
    driver: QueueDriver,
    enabled = true,
    options: { flushIntervalMs?: number; maxBatch?: number } = {},
  ) {
    this.#driver = driver;
    this.enabled = enabled;
    this.#flushIntervalMs = options.flushIntervalMs ?? 10;
    this.#maxBatch = options.maxBatch ?? 500;
  }

  /** Records that job `id` entered `status`, as seen by `worker` when a worker made the change. */
  emit(
    job: { id: string; name: string; queue: string },
    status: JobStatus,
    attempt: number,
    worker?: string,
    extra?: { runAt?: number; result?: JsonValue; error?: StoredError; durationMs?: number },
  ): void {
    if (!this.enabled) return;
    const event: JobEvent = { id: job.id, name: job.name, queue: job.queue, status, attempt, at: Date.now() };
    if (worker !== undefined) event.worker = worker;
    if (extra) Object.assign(event, extra);
    this.#buffer.push(event);
    if (this.#buffer.length >= this.#maxBatch) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#flushIntervalMs);
  }

  /** Sends what is buffered now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#driver.publishEvents(batch);
  }
}
