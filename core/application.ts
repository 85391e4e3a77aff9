/**
 * The application object: owns the logger, the queue driver (opened lazily by the
 * driver itself), the job registry and the dispatcher, and closes what it opened.
 * `bootstrap/app.ts` builds one from `config/` and `app/`; tests build their own.
 */
import type { Redis } from 'ioredis';
import type { AppSettings, QueueSettings } from './config/settings.js';
import { createLogger, type Logger } from './logger.js';
import { sampledFailures } from './support/sampled_failures.js';
import {
  type DeadLetterStore,
  MemoryDeadLetterStore,
  RedisDeadLetterStore,
} from './messaging/dead_letters.js';
import { MemoryRateLimiter } from './messaging/middleware/memory_rate_limiter.js';
import type { RateLimiter } from './messaging/middleware/rate_limiter.js';
import { RedisRateLimiter } from './messaging/middleware/redis_rate_limiter.js';
import { MemoryStateStore, RedisStateStore, type StateStore } from './messaging/state_store.js';
import { Dispatcher } from './queue/dispatcher.js';
import {
  type JobEventListener,
  type JobEventListeners,
  type JobProgressListener,
  type QueueDriver,
  streamEventLabel,
} from './queue/driver.js';
import { JobEventPublisher } from './queue/job_events.js';
import { JobManager } from './queue/job_manager.js';
import { MemoryQueueDriver } from './queue/drivers/memory/index.js';
import { RedisQueueDriver } from './queue/drivers/redis/redis_driver.js';
import type { JobClass } from './queue/job.js';
import { Queue } from './queue/queue_facade.js';
import { JobRegistry } from './queue/registry.js';
import { Worker, type WorkerOptions } from './queue/worker.js';
import { assertDurableDriver } from './config/durable_driver.js';

/** What an application is built from. */
export interface ApplicationOptions {
  app: AppSettings;
  queue: QueueSettings;
  /** Every job class this application may dispatch or run (the allowlist). */
  jobs: readonly JobClass[];
  /** Use this logger instead of building one from `app.logLevel`. */
  log?: Logger;
  /** Use this driver instead of building one from `queue` (tests, custom storage). */
  driver?: QueueDriver;
  /** Log `queue.memory_driver` when the in-memory driver is built (default true). */
  memoryDriverWarning?: boolean;
}

/**
 * A running Topiq application.
 *
 * @example
 * const app = new Application({ app, queue, jobs: [SendEmailJob] }).bindQueue();
 * await SendEmailJob.dispatch({ to: 'ops@example.com', subject: 'hello' });
 * await app.close();
 */
export class Application {
  readonly settings: { app: AppSettings; queue: QueueSettings };
  readonly log: Logger;
  readonly registry: JobRegistry;
  readonly driver: QueueDriver;
  readonly dispatcher: Dispatcher;
  /** Publishes job status changes (when `QUEUE_EVENTS` is on). */
  readonly events: JobEventPublisher;
  /** Jobs by id: find, list, cancel, release. */
  readonly jobs: JobManager;
  /** Messages handlers could not process (Redis list, or memory with the memory driver). */
  readonly deadLetters: DeadLetterStore;
  /** State handlers keep between messages, e.g. each device's last status. */
  readonly state: StateStore;
  /** Sliding-window rate limiter for `rateLimit()` middleware (Redis, or memory). */
  readonly rateLimiter: RateLimiter;
  readonly #workers = new Set<Worker>();
  #closed = false;

  constructor(options: ApplicationOptions) {
    this.settings = { app: options.app, queue: options.queue };
    this.log = options.log ?? createLogger({ level: options.app.logLevel, name: options.app.name });
    this.registry = new JobRegistry().register(...options.jobs);
    this.driver =
      options.driver ?? createDriver(options.queue, this.log, options.memoryDriverWarning ?? true);
    this.events = new JobEventPublisher(this.driver, options.queue.events);
    this.dispatcher = new Dispatcher(this.driver, this.registry, this.events);
    this.jobs = new JobManager(this.driver, this.events);
    if (this.driver instanceof RedisQueueDriver) {
      this.deadLetters = new RedisDeadLetterStore(this.driver.redis, options.queue.prefix);
      this.state = new RedisStateStore(this.driver.redis, options.queue.prefix);
      this.rateLimiter = new RedisRateLimiter(this.driver.redis, options.queue.prefix);
    } else {
      this.deadLetters = new MemoryDeadLetterStore();
      this.state = new MemoryStateStore();
      this.rateLimiter = new MemoryRateLimiter();
    }
  }

  /** The Redis connection of the Redis driver, or undefined with the memory driver. */
  get redis(): Redis | undefined {
    return this.driver instanceof RedisQueueDriver ? this.driver.redis : undefined;
  }

  /**
   * Calls `listener` for every job status change in every process using this Redis (or,
   * with the memory driver, this process); given `{ status, progress }`, also calls
   * `progress` for every progress report, from one subscription. Resolves to a function
   * that unsubscribes. When a listener throws, that event is lost to it and logged
   * (`job_events.listener_failed`, the first time and every 1,000th after); the events after
   * it are still delivered.
   *
   * @example
   * const stop = await app.onJobEvent((event) => console.log(event.id, event.status));
   */
  onJobEvent(listener: JobEventListener | JobEventListeners): Promise<() => Promise<void>> {
    const failed = sampledFailures();
    return this.driver.subscribeEvents(listener, (error, event) => {
      const failures = failed();
      if (failures !== undefined) {
        this.log.error(
          {
            event: 'job_events.listener_failed',
            err: error,
            jobId: event.id,
            queue: event.queue,
            status: streamEventLabel(event),
            failures,
          },
          'a job event listener threw; that event is lost to it, the next ones are still delivered',
        );
      }
    });
  }

  /**
   * Calls `listener` for every progress report of a running job in every process using this
   * Redis (with the memory driver, this process): one per stored `progress()` write, so at
   * most one per `QUEUE_PROGRESS_INTERVAL_MS` per job, plus the last one, written as the job
   * ends. Resolves to a function that unsubscribes.
   *
   * @example
   * const stop = await app.onJobProgress(({ id, progress }) => console.log(`${id}: ${progress}%`));
   */
  onJobProgress(listener: JobProgressListener): Promise<() => Promise<void>> {
    return this.onJobEvent({ progress: listener });
  }

  /** Makes this application the target of static `SomeJob.dispatch()` calls until it closes (see `Queue.bind`). */
  bindQueue(): this {
    Queue.bind(this.dispatcher);
    return this;
  }

  /** A worker on this application's driver and registry, with config defaults. */
  createWorker(options: Omit<WorkerOptions, 'driver' | 'registry'>): Worker {
    const { queue } = this.settings;
    assertDurableDriver(queue);
    const worker = new Worker({
      leaseMs: queue.leaseMs,
      shutdownGraceMs: queue.shutdownGraceMs,
      progressIntervalMs: queue.progressIntervalMs,
      heartbeatMs: queue.heartbeatMs,
      events: this.events,
      log: this.log,
      ...options,
      driver: this.driver,
      registry: this.registry,
    });
    this.#workers.add(worker);
    return worker;
  }

  /** Stops workers created here, unbinds the queue and closes the driver. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#workers].map((worker) => worker.shutdown()));
    Queue.unbind(this.dispatcher);
    this.events.flush(true);
    await this.driver.close();
  }
}

function createDriver(settings: QueueSettings, log: Logger, warn: boolean): QueueDriver {
  if (settings.driver === 'redis') {
    return new RedisQueueDriver({
      connection: settings.redisUrl,
      prefix: settings.prefix,
      retention: settings.retention,
      failedCount: settings.failedCount,
    });
  }
  if (warn) {
    log.warn(
      { event: 'queue.memory_driver' },
      'using the in-memory queue driver: jobs are NOT durable and are lost when the process exits; ' +
        'set REDIS_URL for production',
    );
  }
  return new MemoryQueueDriver({ retention: settings.retention, failedCount: settings.failedCount });
}
