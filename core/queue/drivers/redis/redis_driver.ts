/**
 * The production queue driver: every state change is one Lua script (./scripts), keys
 * are hash-tagged per queue (./keys.ts), reserve and acknowledge work in batches, and
 * idle workers block on a per-queue wake-up list instead of polling. This class opens the
 * connection and wires the parts, each in a module of its own: pushing (redis_push.ts),
 * reserving (redis_reserve.ts), completing (redis_complete.ts), the other calls on held leases
 * (redis_leases.ts), job records (redis_records.ts), monitoring and Pub/Sub.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnavailableError } from '../../../errors.js';
import type {
  Completion,
  ExtendOptions,
  FailedSelection,
  Failure,
  FailResult,
  JobEventListener,
  JobEventListenerError,
  JobEventListeners,
  JobRecord,
  JobStatus,
  Lease,
  LeaseState,
  NewJob,
  PushOutcome,
  ReleaseOptions,
  ReleaseOutcome,
  QueueCounts,
  QueueDriver,
  QueueStats,
  ReserveOptions,
  ReserveResult,
  RetentionSettings,
  RetriedJob,
  RetryFailedOutcome,
  Unsubscribe,
  WorkerIdentity,
  WorkerInfo,
} from '../../driver.js';
import { BlockingPool } from './blocking_pool.js';
import { decodeEvents, encodeEvents } from './event_codec.js';
import type { EventBatch } from '../../event_batch.js';
import { streamListener } from '../../job_events.js';
import { KeyBuilder } from './keys.js';
import { RedisComplete } from './redis_complete.js';
import { RedisLeases } from './redis_leases.js';
import { RedisMonitoring } from './redis_monitoring.js';
import { RedisPubSub } from './redis_pubsub.js';
import { RedisPush } from './redis_push.js';
import { EventListenerPresence, type EventListenerTiming } from './event_listeners.js';
import { RedisRecords } from './redis_records.js';
import { RedisReserve } from './redis_reserve.js';
import { limitReadyWait } from './ready_deadline.js';
import {
  describeConnection,
  isDatabaseRefusal,
  refusedQueueCall,
  rethrowUnavailable,
} from './unavailable.js';
import { registerScripts } from './scripts.js';
import { serverNow } from './server_clock.js';
import { withDeadline } from '../../../support/timers.js';

/** Options of {@link RedisQueueDriver}. */
export interface RedisDriverOptions {
  /** An ioredis connection to use (not closed by the driver), or a URL / options to open one. */
  connection?: Redis | string | RedisOptions;
  /** Key prefix, default `topiq`. */
  prefix?: string;
  retention?: Partial<RetentionSettings>;
  /** Failed records kept per queue before the oldest are dropped (default 100,000). */
  failedCount?: number;
  /** How listeners of job events announce themselves (see `event_listeners.ts`); tests shorten it. */
  eventListeners?: EventListenerTiming;
}

/** How long `close()` waits for Redis to answer its QUIT before it drops the connection. */
const CLOSE_WAIT_MS = 2_000;

const DEFAULT_RETENTION: RetentionSettings = { completedCount: 1000, completedAgeMs: 24 * 3600_000 };

/**
 * Queue storage on Redis.
 *
 * @example
 * const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379' });
 * await driver.push([{ id: 'j1', name: 'SendEmailJob', queue: 'emails', payload: '{}', maxTries: 0, priority: 0 }]);
 */
export class RedisQueueDriver implements QueueDriver {
  readonly kind = 'redis' as const;
  readonly durable = true;
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly #ownsConnection: boolean;
  readonly #blocking: BlockingPool;
  readonly #pubsub: RedisPubSub;
  readonly #listeners: EventListenerPresence;
  readonly #monitoring: RedisMonitoring;
  readonly #records: RedisRecords;
  readonly #push: RedisPush;
  readonly #reserve: RedisReserve;
  readonly #complete: RedisComplete;
  readonly #leases: RedisLeases;
  readonly #where: string;
  readonly #unavailable: (error: unknown) => never;
  /** Set when Redis refused the connection's database: every call fails with it. */
  #refusedDatabase: RedisUnavailableError | undefined;

  constructor(options: RedisDriverOptions = {}) {
    const { connection } = options;
    if (connection instanceof Redis) {
      this.redis = connection;
      this.#ownsConnection = false;
    } else {
      // Few retries per command: a caller (dispatch, CLI) learns of an outage in about a second
      // instead of twenty; workers retry on their own with backoff. No auto-pipelining: it
      // holds a batch until the previous one has answered, which serialised a worker's
      // acknowledgements with its next reserve (measured: +13% jobs/s without it).
      const base: RedisOptions = { enableAutoPipelining: false, lazyConnect: true, maxRetriesPerRequest: 3 };
      this.redis =
        typeof connection === 'string' ? new Redis(connection, base) : new Redis({ ...base, ...connection });
      this.#ownsConnection = true;
    }
    this.keys = new KeyBuilder(options.prefix, this.redis.options.db ?? 0);
    const retention: RetentionSettings = { ...DEFAULT_RETENTION, ...options.retention };
    const failedCount = options.failedCount ?? 100_000;
    // this driver's own: its lease tokens start with it, and its keys of reserve calls and of
    // kept complete answers end with it
    const tokenPrefix = randomBytes(9).toString('base64url');
    this.#blocking = new BlockingPool(this.redis);
    this.#pubsub = new RedisPubSub(this.redis);
    this.#listeners = new EventListenerPresence(
      this.#pubsub,
      this.keys.eventListenersChannel,
      options.eventListeners,
    );
    this.#monitoring = new RedisMonitoring(this.redis, this.keys, this.keys.prefix);
    this.#where = describeConnection(this.redis.options);
    // a connection of the caller's is the caller's to watch
    const readiness = this.#ownsConnection ? limitReadyWait(this.redis) : undefined;
    this.#unavailable = rethrowUnavailable(
      this.#where,
      () => this.#refusedDatabase,
      () => readiness?.unanswered === true,
    );
    this.#records = new RedisRecords(this.redis, this.keys, retention, this.#unavailable);
    this.#push = new RedisPush(this.redis, this.keys);
    this.#reserve = new RedisReserve(this.redis, this.keys, { retention, failedCount, tokenPrefix });
    this.#complete = new RedisComplete(this.redis, this.keys, { retention, tokenPrefix });
    this.#leases = new RedisLeases(this.redis, this.keys, { retention, failedCount });
    // Without a listener ioredis prints every reconnect failure as an unhandled error;
    // callers get a typed error from the command that failed instead.
    this.redis.on('error', (error: unknown) => {
      // A database the server does not have: ioredis would go on in database 0, reading and
      // writing another app's keys. Its SELECT is answered before the connection is ready, so
      // closing now sends no command; every call fails with this error instead.
      if (this.#refusedDatabase !== undefined || !this.#ownsConnection || !isDatabaseRefusal(error)) return;
      this.#refusedDatabase = new RedisUnavailableError(
        `Redis at ${this.#where} refused database ${this.redis.options.db} (${(error as Error).message}). ` +
          'Choose a database the server has in REDIS_URL (its "databases" setting, 16 by default: /0 to /15)',
        { cause: error },
      );
      this.redis.disconnect();
    });
    // Define the scripts now, not on first use: with auto-pipelining, a command defined
    // while a pipeline is pending is missing from that pipeline, the call rejects and the
    // pipeline's exec throws an uncaught TypeError (ioredis#1931).
    registerScripts(this.redis);
  }

  /** Where this driver connects, for messages (`host:port`). */
  get where(): string {
    return this.#where;
  }

  push(jobs: readonly NewJob[]): Promise<PushOutcome[]> {
    return this.#push.push(jobs).catch(this.#unavailable);
  }

  reserve(queue: string, options: ReserveOptions): Promise<ReserveResult> {
    return this.#reserve.reserve(queue, options).catch(this.#unavailable);
  }

  extend(leases: readonly Lease[], leaseMs: number, options?: ExtendOptions): Promise<LeaseState[]> {
    return this.#leases.extend(leases, leaseMs, options).catch(this.#unavailable);
  }

  complete(completions: readonly Completion[]): Promise<boolean[]> {
    return this.#complete.complete(completions).catch(this.#unavailable);
  }

  fail(failure: Failure): Promise<FailResult> {
    return this.#leases.fail(failure).catch(this.#unavailable);
  }

  release(leases: readonly Lease[], options?: ReleaseOptions): Promise<ReleaseOutcome[]> {
    return this.#leases.release(leases, options).catch(this.#unavailable);
  }

  waitForWork(queues: readonly string[], timeoutMs: number): Promise<void> {
    // its connections are copies of the main one, which would go on in database 0 too
    if (this.#refusedDatabase) return Promise.reject(this.#refusedDatabase);
    return this.#blocking.wait(
      queues.map((queue) => this.keys.queue(queue).signal),
      timeoutMs,
    );
  }

  interrupt(): void {
    this.#blocking.interrupt();
  }

  counts(queue: string): Promise<QueueCounts> {
    return this.#counts(queue)
      .catch(async (error: unknown) => {
        // a set or list of the queue of another type: named, as the scripts' refusals are
        throw await refusedQueueCall(
          this.redis,
          error,
          queue,
          this.keys.queue(queue),
          'its jobs cannot be counted',
        );
      })
      .catch(this.#unavailable);
  }

  async #counts(queue: string): Promise<QueueCounts> {
    const keys = this.keys.queue(queue);
    const [waiting, delayed, running, pending, failed, completed] = await Promise.all([
      ...[keys.wait, keys.delayed, keys.active, keys.pending, keys.failed].map((key) =>
        this.redis.zcard(key),
      ),
      this.redis.llen(keys.completed),
    ]);
    return {
      waiting: waiting!,
      delayed: delayed!,
      running: running!,
      pending: pending!,
      failed: failed!,
      completed: completed!,
    };
  }

  async queues(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.queueSet).catch(this.#unavailable)).sort();
  }

  progress(lease: Lease, percent: number, message: string | null, data?: string | null): Promise<boolean> {
    return this.#leases.progress(lease, percent, message, data).catch(this.#unavailable);
  }

  clear(queue: string): Promise<number> {
    return this.#records.clear(queue);
  }

  getJob(queue: string, id: string): Promise<JobRecord | undefined> {
    return this.#records.getJob(queue, id);
  }

  listJobs(queue: string, status: JobStatus, offset: number, limit: number): Promise<JobRecord[]> {
    return this.#records.listJobs(queue, status, offset, limit);
  }

  async cancel(queue: string, id: string): Promise<JobStatus> {
    const status = await this.#records.cancel(queue, id);
    if (status === 'running') {
      // Awaited: a CLI cancel closes its connection right after, which could drop the message.
      await this.#pubsub
        .publishAndWait(this.keys.cancelsChannel, JSON.stringify({ queue, id }))
        .catch(() => {});
    }
    return status;
  }

  releaseHeld(queue: string, id: string): Promise<JobStatus> {
    return this.#records.releaseHeld(queue, id);
  }

  listFailed(queue: string, offset: number, limit: number): Promise<JobRecord[]> {
    return this.#records.listFailed(queue, offset, limit);
  }

  retryFailed(
    queue: string,
    selection: FailedSelection,
    onMoved?: (moved: readonly RetriedJob[]) => void,
  ): Promise<RetryFailedOutcome> {
    return this.#records.retryFailed(queue, selection, onMoved);
  }

  removeFailed(queue: string, selection: FailedSelection): Promise<number> {
    return this.#records.removeFailed(queue, selection);
  }

  now(): Promise<number> {
    return serverNow(this.redis).catch(this.#unavailable);
  }

  async stats(queue: string): Promise<QueueStats> {
    // both at once: neither waits for the other's round trip
    const [counts, measured] = await Promise.all([
      this.counts(queue),
      this.#monitoring.stats(queue).catch(this.#unavailable),
    ]);
    return { queue, ...counts, ...measured };
  }

  publishEvents(batch: EventBatch): void {
    if (batch.size > 0) this.#pubsub.publish(this.keys.eventsChannel, encodeEvents(batch));
  }

  hasEventListeners(): boolean {
    return this.#listeners.present();
  }

  eventsDelivered(): Promise<void> {
    return this.#pubsub.delivered();
  }

  async subscribeEvents(
    listener: JobEventListener | JobEventListeners,
    onError?: JobEventListenerError,
  ): Promise<Unsubscribe> {
    const deliver = streamListener(listener, onError);
    const unsubscribe = await this.#pubsub.subscribe(this.keys.eventsChannel, (message) => {
      for (const event of decodeEvents(message)) deliver(event);
    });
    // announced once subscribed: from then on, publishers that skipped events publish them
    const stop = this.#listeners.listening();
    return async () => {
      stop();
      await unsubscribe();
    };
  }

  subscribeCancels(listener: (queue: string, id: string) => void): Promise<Unsubscribe> {
    return this.#pubsub.subscribe(this.keys.cancelsChannel, (message) => {
      const { queue, id } = JSON.parse(message) as { queue: string; id: string };
      listener(queue, id);
    });
  }

  heartbeat(info: WorkerInfo, ttlMs: number): Promise<WorkerInfo | undefined> {
    return this.#monitoring.heartbeat(info, ttlMs).catch(this.#unavailable);
  }

  removeWorker(id: string, owner?: WorkerIdentity): Promise<void> {
    return this.#monitoring.removeWorker(id, owner).catch(this.#unavailable);
  }

  workers(): Promise<WorkerInfo[]> {
    return this.#monitoring.workers().catch(this.#unavailable);
  }

  async close(): Promise<void> {
    this.#reserve.forgetFailed();
    this.#listeners.close();
    this.#pubsub.close();
    await this.#blocking.close();
    if (this.#ownsConnection && this.redis.status !== 'end') {
      // QUIT waits for its answer, which a link that drops packets never gives
      await withDeadline(this.redis.quit(), CLOSE_WAIT_MS, 'QUIT unanswered').catch(() =>
        this.redis.disconnect(),
      );
    }
  }
}
