/**
 * Publishes job status changes. Events raised in one turn of the event loop go out as
 * one message (one Redis PUBLISH), so a worker completing thousands of jobs a second
 * adds one small message per batch, not one per job. Disabled, it costs nothing.
 */
import type { JobEvent, JobStatus, QueueDriver, StoredError } from './driver.js';
import type { JsonValue } from './json.js';

/** Collects job events and hands them to the driver in batches. */
export class JobEventPublisher {
  readonly #driver: QueueDriver;
  readonly enabled: boolean;
  #buffer: JobEvent[] = [];
  #scheduled = false;

  constructor(driver: QueueDriver, enabled = true) {
    this.#driver = driver;
    this.enabled = enabled;
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
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what is buffered now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#driver.publishEvents(batch);
  }
}
