/**
 * The queue driver behind `QueueFake`: a real {@link MemoryQueueDriver} that also keeps a
 * log of every job pushed to it. Recording at the driver, not the dispatcher, is what
 * catches every way a job can arrive: static `SomeJob.dispatch()`, an application's own
 * dispatcher, and the message pipeline's batched dispatches from route handlers.
 */
import type { NewJob, PushOutcome } from '../queue/driver.js';
import { MemoryQueueDriver, type MemoryQueueDriverOptions } from '../queue/drivers/memory/index.js';
import type { JsonValue } from '../queue/json.js';

/** One job as it was dispatched (pushed to the driver). */
export interface DispatchedJob<TPayload = JsonValue> {
  /** The job id: the `jobId` option, or the generated one. */
  readonly id: string;
  /** The registry name of the job class (`jobName`, or the class name). */
  readonly name: string;
  readonly queue: string;
  /** The payload as the job will receive it (after its JSON round trip). */
  readonly payload: TPayload;
  readonly priority: number;
  /** Tries allowed; 0 means "the worker's --tries". */
  readonly maxTries: number;
  /**
   * Seconds between dispatch and `runAt`, rounded to 0.1 s (0 when not delayed). The
   * dispatcher turns `delay` into `runAt` before the driver sees it, so this is measured;
   * compare `runAt` under `vi.useFakeTimers()` for an exact check.
   */
  readonly delay: number;
  /** Epoch ms before which the job must not run, or null. */
  readonly runAt: number | null;
  /** Epoch ms after which the job expires unstarted, or null. */
  readonly expiresAt: number | null;
  /** True when dispatched on hold (`hold: true`). */
  readonly hold: boolean;
  /** `owner` as dispatched, or null. */
  readonly owner: string | null;
  /** `description` as dispatched, or null. */
  readonly description: string | null;
  /** True when a job with this id already existed, so the driver added nothing. */
  readonly duplicate: boolean;
  /** Epoch ms at which the driver received the job. */
  readonly dispatchedAt: number;
}

/**
 * A memory driver that records every pushed job, in push order.
 *
 * @example
 * const driver = new RecordingQueueDriver();
 * const app = createApplication({ driver });
 * await SendEmailJob.dispatch({ to: 'ops@example.com', subject: 'hi', body: '' });
 * driver.dispatched[0]?.name; // 'SendEmailJob'
 */
export class RecordingQueueDriver extends MemoryQueueDriver {
  readonly #dispatched: DispatchedJob[] = [];
  readonly #clock: () => number;

  constructor(options: MemoryQueueDriverOptions = {}) {
    // Read Date.now on each call (not once at construction) so vi.useFakeTimers() applies.
    const now = options.now ?? (() => Date.now());
    super({ ...options, now });
    this.#clock = now;
  }

  /** Every job pushed so far, oldest first. */
  get dispatched(): readonly DispatchedJob[] {
    return this.#dispatched;
  }

  /** The driver's clock, in epoch ms (`Date.now()` unless the options gave another). */
  currentTime(): number {
    return this.#clock();
  }

  override async push(jobs: readonly NewJob[]): Promise<PushOutcome[]> {
    const outcomes = await super.push(jobs);
    const now = this.#clock();
    for (const [index, job] of jobs.entries()) {
      this.#dispatched.push(toDispatched(job, outcomes[index] === 'duplicate', now));
    }
    return outcomes;
  }
}

function toDispatched(job: NewJob, duplicate: boolean, now: number): DispatchedJob {
  const runAt = job.runAt !== undefined && job.runAt > 0 ? job.runAt : null;
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    payload: JSON.parse(job.payload) as JsonValue,
    priority: job.priority,
    maxTries: job.maxTries,
    delay: runAt === null ? 0 : Math.max(0, Math.round((runAt - now) / 100) / 10),
    runAt,
    expiresAt: job.expiresAt !== undefined && job.expiresAt !== 0 ? job.expiresAt : null,
    hold: job.hold === true,
    owner: job.owner ?? null,
    description: job.description ?? null,
    duplicate,
    dispatchedAt: now,
  };
}
