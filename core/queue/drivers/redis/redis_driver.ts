/**
 * The production queue driver: every state change is one Lua script (./scripts), keys
 * are hash-tagged per queue (./keys.ts), reserve and acknowledge work in batches, and
 * idle workers block on a per-queue wake-up list instead of polling.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { groupBy } from '../../../support/group_by.js';
import { RedisUnavailableError, RedisWrongTypeError } from '../../../errors.js';
import {
  type Completion,
  type ExtendOptions,
  type FailedSelection,
  type Failure,
  type FailOutcome,
  type FailResult,
  type JobEventListener,
  type JobEventListenerError,
  type JobEventListeners,
  type JobRecord,
  type JobStatus,
  type Lease,
  type LeaseState,
  type NewJob,
  type PushOutcome,
  type ReleaseOptions,
  type ReleaseOutcome,
  type QueueCounts,
  type QueueDriver,
  type QueueStats,
  type ReservedJob,
  type ReserveOptions,
  type ReserveResult,
  type RetentionSettings,
  type RetriedJob,
  type RetryFailedOutcome,
  type Unsubscribe,
  type WorkerInfo,
  MAX_STALLS,
  RECLAIMS_PER_RESERVE,
} from '../../driver.js';
import { BlockingPool } from './blocking_pool.js';
import { decodeEvents, encodeEvents } from './event_codec.js';
import type { EventBatch } from '../../event_batch.js';
import { streamListener } from '../../job_events.js';
import { assertJobName } from '../../names.js';
import { parseSpec } from './job_spec.js';
import { decodeRecord, fieldsOf } from './record_codec.js';
import { KeyBuilder, type QueueKeys } from './keys.js';
import { RedisMonitoring } from './redis_monitoring.js';
import { RedisPubSub } from './redis_pubsub.js';
import { EventListenerPresence, type EventListenerTiming } from './event_listeners.js';
import { RedisRecords } from './redis_records.js';
import {
  describeConnection,
  isDatabaseRefusal,
  isWrongTypeReply,
  refusedJobCall,
  rethrowUnavailable,
} from './unavailable.js';
import { registerScripts, runScript } from './scripts.js';
import { serverNow } from './server_clock.js';

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

/** push_jobs.lua's answer per job, by number (0: an existing job has that id). */
const PUSH_OUTCOMES: readonly PushOutcome[] = ['duplicate', 'queued', 'delayed', 'pending'];
/** push_jobs.lua's answer for a job whose key holds another type: not added. */
const KEY_OF_ANOTHER_TYPE = 4;

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
  readonly #retention: RetentionSettings;
  readonly #failedCount: number;
  readonly #knownQueues = new Set<string>();
  readonly #blocking: BlockingPool;
  readonly #pubsub: RedisPubSub;
  readonly #listeners: EventListenerPresence;
  readonly #monitoring: RedisMonitoring;
  readonly #records: RedisRecords;
  readonly #where: string;
  readonly #unavailable: (error: unknown) => never;
  /** Set when Redis refused the connection's database: every call fails with it. */
  #refusedDatabase: RedisUnavailableError | undefined;
  /** Lease tokens are this driver's random prefix and a count: unique without random bytes per call. */
  readonly #tokenPrefix = randomBytes(9).toString('base64url');
  #tokens = 0;
  /**
   * Reserve calls that failed, per queue: Redis may have run one and lost its reply, so the
   * next reserve of the queue goes under the same number and token, and reserve_jobs.lua hands
   * back what the earlier run leased along with new jobs.
   */
  readonly #failedReserves = new Map<string, { call: number; token: string }[]>();
  /** The number of this driver's latest complete call, per queue (complete_jobs.lua keeps recent answers). */
  readonly #completeCalls = new Map<string, number>();
  /**
   * Complete calls that failed, by the array they were made with, and their number per queue:
   * Redis may have run one and lost its reply, so the same array sent again goes under the same
   * numbers and gets the first run's answer (see `QueueDriver.complete`).
   */
  readonly #failedCompletes = new WeakMap<readonly Completion[], Map<string, number>>();
  /**
   * The numbers of those failed complete calls, per queue, with when they failed, until sent
   * again: their answers are kept. One never sent again (a caller that gave up) is dropped once
   * the script would no longer keep its answer: 10,000 calls or ten minutes later.
   */
  readonly #waitingCompletes = new Map<string, Map<number, number>>();

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
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#failedCount = options.failedCount ?? 100_000;
    this.#blocking = new BlockingPool(this.redis);
    this.#pubsub = new RedisPubSub(this.redis);
    this.#listeners = new EventListenerPresence(
      this.#pubsub,
      this.keys.eventListenersChannel,
      options.eventListeners,
    );
    this.#monitoring = new RedisMonitoring(this.redis, this.keys, this.keys.prefix);
    this.#where = describeConnection(this.redis.options);
    this.#unavailable = rethrowUnavailable(this.#where, () => this.#refusedDatabase);
    this.#records = new RedisRecords(this.redis, this.keys, this.#retention, this.#unavailable);
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
    return this.#push(jobs).catch(this.#unavailable);
  }

  async #push(jobs: readonly NewJob[]): Promise<PushOutcome[]> {
    // all checked before anything is written: a bad entry refuses the whole call
    for (const job of jobs) {
      this.keys.job(job.queue, job.id); // validates the queue name and id
      assertJobName(job.name);
    }
    const byQueue = groupBy(jobs, (job) => job.queue);
    const outcomes = new Map<NewJob, PushOutcome>();
    // Each queue is its own script call. All are let finish before a failure is thrown, so none
    // is still writing when the caller sends the push again; jobs a call stored are then
    // answered by their pushToken as the first try would have answered them, not `duplicate`.
    const settled = await Promise.allSettled(
      [...byQueue].map(async ([queue, list]) => {
        const keys = this.keys.queue(queue);
        // ids whose key holds another type: not added, refused once the rest is stored
        const refused: string[] = [];
        try {
          if (!this.#knownQueues.has(queue)) {
            await this.redis.sadd(this.keys.queueSet, queue);
            this.#knownQueues.add(queue);
          }
          for (let start = 0; start < list.length; start += 1000) {
            const chunk = list.slice(start, start + 1000);
            const args: (string | number)[] = [keys.job];
            for (const job of chunk) {
              args.push(job.id, job.name, job.payload, job.maxTries, job.priority);
              args.push(
                job.runAt ?? 0,
                job.expiresAt ?? 0,
                job.hold ? 1 : 0,
                job.owner ?? '',
                job.description ?? '',
                // '=': the id itself, not sent twice (most jobs: their id was made for them)
                job.pushToken === job.id ? '=' : (job.pushToken ?? ''),
              );
            }
            const added = await runScript<number[]>(this.redis, 'push_jobs', this.#keys(keys, 'push'), args);
            chunk.forEach((job, index) => {
              if (added[index] === KEY_OF_ANOTHER_TYPE) refused.push(job.id);
              else outcomes.set(job, PUSH_OUTCOMES[added[index]!] ?? 'duplicate');
            });
          }
          if (refused.length > 0) throw jobKeysOfAnotherType(queue, keys, refused);
        } catch (error) {
          throw refusedPush(queue, keys, this.keys.queueSet, error);
        }
      }),
    );
    for (const result of settled) if (result.status === 'rejected') throw result.reason;
    return jobs.map((job) => outcomes.get(job)!);
  }

  reserve(queue: string, options: ReserveOptions): Promise<ReserveResult> {
    return this.#reserve(queue, options).catch(this.#unavailable);
  }

  async #reserve(queue: string, options: ReserveOptions): Promise<ReserveResult> {
    const keys = this.keys.queue(queue);
    const failed = this.#failedReserves.get(queue);
    const again = failed?.shift();
    if (failed?.length === 0) this.#failedReserves.delete(queue);
    const call = again?.call ?? ++this.#tokens;
    const token = again?.token ?? `${this.#tokenPrefix}${call.toString(36)}`;
    let reply: [string[], string[][], number, string[], string[], string[]];
    try {
      reply = await runScript(this.redis, 'reserve_jobs', this.#keys(keys, 'reserve'), [
        keys.job,
        options.count,
        options.leaseMs,
        token,
        options.worker,
        options.defaultMaxTries,
        this.#retention.completedCount,
        this.#retention.completedAgeMs,
        this.#failedCount,
        call,
        MAX_STALLS,
        RECLAIMS_PER_RESERVE,
      ]);
    } catch (error) {
      const calls = this.#failedReserves.get(queue) ?? [];
      calls.push({ call, token });
      this.#failedReserves.set(queue, calls);
      throw error;
    }
    const [reserved, abandonedHashes, wakeAt, expiredFlat, abandonedIds, changedFlat] = reply;
    const jobs: ReservedJob[] = [];
    for (const line of reserved) jobs.push(parseReserved(line, queue, token));
    const abandoned: JobRecord[] = [];
    abandonedHashes.forEach((flat, index) => {
      const record = decodeRecord(queue, abandonedIds[index]!, fieldsOf(flat));
      if (record) abandoned.push(record);
    });
    const expired: ReserveResult['expired'] = [];
    for (let i = 0; i < expiredFlat.length; i += 2)
      expired.push({ id: expiredFlat[i]!, name: expiredFlat[i + 1]! });
    const changed: ReserveResult['changed'] = [];
    for (let i = 0; i < changedFlat.length; i += 4) {
      changed.push({
        id: changedFlat[i]!,
        name: changedFlat[i + 1]!,
        attempt: Number(changedFlat[i + 2]) || 0,
        status: changedFlat[i + 3] === 'cancelled' ? 'cancelled' : 'queued',
        // 'reclaimed' is queued: handed back at the front because its lease lapsed
        ...(changedFlat[i + 3] === 'reclaimed' ? { reclaimed: true as const } : {}),
      });
    }
    // the script gives the time left, not Redis's epoch ms: the caller waits by its own clock
    return { jobs, abandoned, expired, changed, wakeAt: wakeAt < 0 ? null : Date.now() + wakeAt };
  }

  async extend(
    leases: readonly Lease[],
    leaseMs: number,
    options: ExtendOptions = {},
  ): Promise<LeaseState[]> {
    const states = new Map<Lease, LeaseState>();
    // none below one (a negative end would count from the last lease); slice rounds a fraction down
    const started = new Set(leases.slice(0, Math.max(0, options.started ?? 0)));
    await Promise.all(
      [...groupBy(leases, (lease) => lease.queue)].map(async ([queue, group]) => {
        const keys = this.keys.queue(queue);
        // the started leases lead `leases`, and groupBy keeps the order, so they lead each group:
        // the script marks the first ARGV[3] as started
        const args: (string | number)[] = [
          keys.job,
          leaseMs,
          group.filter((lease) => started.has(lease)).length,
        ];
        for (const lease of group) args.push(lease.id, lease.token);
        const codes = await runScript<number[]>(
          this.redis,
          'extend_leases',
          [keys.active, keys.leases],
          args,
        );
        group.forEach((lease, index) => {
          const code = codes[index];
          states.set(lease, code === 1 ? 'ok' : code === 2 ? 'cancel' : 'lost');
        });
      }),
    );
    return leases.map((lease) => states.get(lease)!);
  }

  async complete(completions: readonly Completion[]): Promise<boolean[]> {
    const done = new Map<Completion, boolean>();
    const byQueue = groupBy(completions, (completion) => completion.lease.queue);
    // sent again: under its numbers while their answers are still kept, else under new ones
    const calls = new Map<string, number>();
    for (const [queue, call] of this.#failedCompletes.get(completions) ?? []) {
      if (this.#waitingCompletes.get(queue)?.delete(call)) calls.set(queue, call);
    }
    this.#failedCompletes.delete(completions);
    try {
      await Promise.all([...byQueue].map(([queue, group]) => this.#complete(queue, group, calls, done)));
    } catch (error) {
      this.#failedCompletes.set(completions, calls);
      for (const [queue, call] of calls) {
        const waiting = this.#waitingCompletes.get(queue) ?? new Map<number, number>();
        waiting.set(call, Date.now());
        this.#waitingCompletes.set(queue, waiting);
      }
      this.#unavailable(error);
    }
    return completions.map((completion) => done.get(completion)!);
  }

  async #complete(
    queue: string,
    group: readonly Completion[],
    calls: Map<string, number>,
    done: Map<Completion, boolean>,
  ): Promise<void> {
    const keys = this.keys.queue(queue);
    let call = calls.get(queue);
    if (call === undefined) {
      call = (this.#completeCalls.get(queue) ?? 0) + 1;
      this.#completeCalls.set(queue, call);
      calls.set(queue, call);
    }
    // ids grouped by lease token (one per reserve call), then only the non-null results
    const byToken = groupBy(group, (completion) => completion.lease.token);
    const ordered: Completion[] = [];
    const results: (string | number)[] = [];
    const waiting = this.#lowestWaiting(queue, call);
    const args: (string | number)[] = [
      keys.job,
      this.#retention.completedCount,
      this.#retention.completedAgeMs,
      call,
      waiting,
      byToken.size,
    ];
    for (const [token, items] of byToken) {
      args.push(token, items.length);
      for (const completion of items) {
        ordered.push(completion);
        args.push(completion.lease.id);
        if (completion.result !== 'null') results.push(ordered.length, completion.result);
      }
    }
    for (const value of results) args.push(value);
    const answer = await runScript<string>(
      this.redis,
      'complete_jobs',
      [
        keys.active,
        keys.completed,
        keys.doneBucket,
        keys.leases,
        keys.completedTimes,
        keys.acked + this.#tokenPrefix,
      ],
      args,
    );
    ordered.forEach((completion, index) => {
      // '1' completed, '0' lease lost; past the end (a short answer): neither
      const code = answer.charCodeAt(index);
      if (code === 49 || code === 48) done.set(completion, code === 49);
    });
  }

  /** The lowest number of a failed complete call on `queue` still to be sent again (0: none). */
  #lowestWaiting(queue: string, call: number): number {
    const waiting = this.#waitingCompletes.get(queue);
    if (!waiting) return 0;
    let lowest = 0;
    const staleAt = Date.now() - 600_000;
    for (const [other, failedAt] of waiting) {
      if (other <= call - 10_000 || failedAt < staleAt) waiting.delete(other);
      else if (lowest === 0 || other < lowest) lowest = other;
    }
    if (waiting.size === 0) this.#waitingCompletes.delete(queue);
    return lowest;
  }

  async fail(failure: Failure): Promise<FailResult> {
    const { lease } = failure;
    const keys = this.keys.queue(lease.queue);
    const answer = await runScript<string>(this.redis, 'fail_job', this.#keys(keys, 'fail'), [
      keys.job,
      lease.id,
      lease.token,
      JSON.stringify(failure.error),
      failure.retryInMs === null ? -1 : Math.max(0, Math.round(failure.retryInMs)),
      this.#retention.completedCount,
      this.#retention.completedAgeMs,
      this.#failedCount,
    ])
      .catch(async (error: unknown) => {
        const doing = `the failed attempt of job ${lease.id} cannot be recorded`;
        throw await refusedJobCall(this.redis, error, { queue: lease.queue, id: lease.id, keys }, doing);
      })
      .catch(this.#unavailable);
    return failResult(answer);
  }

  async release(leases: readonly Lease[], options: ReleaseOptions = {}): Promise<ReleaseOutcome[]> {
    const outcomes = new Map<Lease, ReleaseOutcome>();
    const started = new Set(leases.slice(0, Math.max(0, options.started ?? 0)));
    await Promise.all(
      [...groupBy(leases, (lease) => lease.queue)].map(async ([queue, group]) => {
        const keys = this.keys.queue(queue);
        // as in extend: the started leases lead `leases`, so they lead each group, and the
        // script marks the first ARGV[4] as started
        const args: (string | number)[] = [
          keys.job,
          this.#retention.completedCount,
          this.#retention.completedAgeMs,
          group.filter((lease) => started.has(lease)).length,
        ];
        for (const lease of group) args.push(lease.id, lease.token);
        const codes = await runScript<number[]>(
          this.redis,
          'release_jobs',
          [keys.active, keys.wait, keys.signal, keys.cancelled, keys.leases],
          args,
        );
        group.forEach((lease, index) => {
          const code = codes[index];
          outcomes.set(lease, code === 1 ? 'queued' : code === 2 ? 'cancelled' : 'lost');
        });
      }),
    );
    return leases.map((lease) => outcomes.get(lease)!);
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
    return this.#counts(queue).catch(this.#unavailable);
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

  async progress(
    lease: Lease,
    percent: number,
    message: string | null,
    data?: string | null,
  ): Promise<boolean> {
    const key = this.keys.job(lease.queue, lease.id);
    const keys = this.keys.queue(lease.queue);
    const stored = await runScript<number>(
      this.redis,
      'update_progress',
      [key, keys.leases],
      [lease.id, lease.token, percent, message ?? '', data ?? ''],
    ).catch(async (error: unknown) => {
      const doing = `the progress of job ${lease.id} cannot be stored`;
      throw await refusedJobCall(this.redis, error, { queue: lease.queue, id: lease.id, keys }, doing);
    });
    return stored === 1;
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

  removeWorker(id: string): Promise<void> {
    return this.#monitoring.removeWorker(id).catch(this.#unavailable);
  }

  workers(): Promise<WorkerInfo[]> {
    return this.#monitoring.workers().catch(this.#unavailable);
  }

  async close(): Promise<void> {
    this.#failedReserves.clear();
    this.#listeners.close();
    this.#pubsub.close();
    await this.#blocking.close();
    if (this.#ownsConnection && this.redis.status !== 'end') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    }
  }

  #keys(keys: QueueKeys, script: 'push' | 'reserve' | 'fail'): string[] {
    if (script === 'push') return [keys.wait, keys.delayed, keys.pending, keys.seq, keys.signal];
    if (script === 'reserve') {
      return [
        keys.wait,
        keys.delayed,
        keys.active,
        keys.seq,
        keys.signal,
        keys.failed,
        keys.cancelled,
        keys.expired,
        keys.leases,
        keys.reserving + this.#tokenPrefix,
        keys.reserveSettled + this.#tokenPrefix,
      ];
    }
    return [
      keys.active,
      keys.wait,
      keys.delayed,
      keys.failed,
      keys.seq,
      keys.signal,
      keys.cancelled,
      keys.leases,
    ];
  }
}

/**
 * One reserved job as reserve_jobs.lua sends it: `id\nattempt\nms left before expiresAt\n` (empty
 * without one) and the job's spec (job_spec.ts).
 */
function parseReserved(line: string, queue: string, token: string): ReservedJob {
  const idEnd = line.indexOf('\n');
  const attemptEnd = line.indexOf('\n', idEnd + 1);
  const leftEnd = line.indexOf('\n', attemptEnd + 1);
  const id = line.slice(0, idEnd);
  const attempt = Number(line.slice(idEnd + 1, attemptEnd));
  // ms before its expiresAt as Redis counted them, made a time of this process's clock
  const left = leftEnd > attemptEnd + 1 ? Number(line.slice(attemptEnd + 1, leftEnd)) : Number.NaN;
  const spec = parseSpec(line, leftEnd + 1);
  return {
    id,
    name: spec.name,
    queue,
    payload: spec.payload,
    attempt,
    maxTries: spec.maxTries,
    priority: spec.priority,
    createdAt: spec.createdAt,
    ...(Number.isFinite(left) ? { expiresAt: Date.now() + left } : {}),
    token,
  };
}

/** fail_job.lua's answer: an outcome, or `retrying:<runAt>` for a retry that waits. */
function failResult(answer: string): FailResult {
  if (answer.startsWith('retrying:')) return { outcome: 'retrying', runAt: Number(answer.slice(9)) };
  return { outcome: answer as FailOutcome };
}

/**
 * The jobs `ids` of `queue`, refused by push_jobs.lua because their keys hold another type, as
 * `E_REDIS_WRONG_TYPE` naming the first key and the fix.
 */
function jobKeysOfAnotherType(queue: string, keys: QueueKeys, ids: readonly string[]): RedisWrongTypeError {
  const key = `${keys.job}${ids[0]}`;
  const more = ids.length > 1 ? ` (and ${ids.length - 1} more of the push: ${keys.job}<id>)` : '';
  return new RedisWrongTypeError(
    `Redis key ${key}${more}, where job ${ids[0]} of queue "${queue}" would be stored, holds a value of another ` +
      'type (set by hand, or by another program using the same prefix), so the job was not added (the ' +
      `other jobs of the queue were): look at it (redis-cli TYPE ${key}), then rename it to keep what it ` +
      `holds (redis-cli RENAME ${key} <new name>) or delete it (redis-cli DEL ${key}), and dispatch the job again`,
  );
}

/**
 * A push refused for a key of `queue` that holds another type (`WRONGTYPE`), or a sequence
 * counter that holds no integer, as `E_REDIS_WRONG_TYPE` naming the key and the fix: it is
 * refused until someone changes the key. Any other error as it is (a connection failure is
 * mapped after, a Redis state such as `OOM` is waited out by its callers).
 */
function refusedPush(queue: string, keys: QueueKeys, queueSet: string, error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return error;
  const other = '(set by hand, or by another program using the same prefix)';
  if (/\bvalue is not an integer\b/.test(error.message)) {
    return new RedisWrongTypeError(
      `Redis key ${keys.seq}, the order counter of queue "${queue}", holds no integer ${other}, so no ` +
        `job can be added to the queue: look at it (redis-cli GET ${keys.seq}), then delete it ` +
        `(redis-cli DEL ${keys.seq}; jobs waiting already may then run after newer ones of their priority)`,
      { cause: error },
    );
  }
  if (isWrongTypeReply(error)) {
    const pattern = `${keys.seq.slice(0, -'seq'.length)}*`;
    return new RedisWrongTypeError(
      `a Redis key of queue "${queue}" (${pattern}) or the queue list ${queueSet} holds a value of ` +
        `another type ${other}, so jobs cannot be added to the queue (${error.message}): find it ` +
        `(redis-cli --scan --pattern '${pattern}', then TYPE), then rename it to keep what it holds or delete it`,
      { cause: error },
    );
  }
  return error;
}
