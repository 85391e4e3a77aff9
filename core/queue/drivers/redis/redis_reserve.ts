/**
 * Taking jobs on Redis (`QueueDriver.reserve`): one reserve_jobs.lua call leases a batch
 * under a token of this driver, and hands back what changed meanwhile (abandoned, expired,
 * cancelled and reclaimed jobs). A call whose reply was lost is sent again under the same
 * number and token, so the jobs its first run leased are not left running for nobody.
 */
import type { Redis } from 'ioredis';
import {
  type JobRecord,
  MAX_STALLS,
  RECLAIMS_PER_RESERVE,
  type ReservedJob,
  type ReserveOptions,
  type ReserveResult,
  type RetentionSettings,
} from '../../driver.js';
import { parseSpec } from './job_spec.js';
import type { KeyBuilder, QueueKeys } from './keys.js';
import { decodeRecord, fieldsOf } from './record_codec.js';
import { runScript } from './scripts.js';
import { refusedQueueCall } from './unavailable.js';

/**
 * The KEYS of reserve_jobs.lua for `keys`'s queue, called by a driver whose reserve and settled
 * keys end with `tokenPrefix` (see the script's header for each).
 */
export function reserveScriptKeys(keys: QueueKeys, tokenPrefix: string): string[] {
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
    keys.reserving + tokenPrefix,
    keys.reserveSettled + tokenPrefix,
  ];
}

/** What reserve_jobs.lua is given besides the call: the records it prunes, and this driver's keys. */
export interface ReserveSettings {
  readonly retention: RetentionSettings;
  /** Failed records kept per queue before the oldest are dropped. */
  readonly failedCount: number;
  /** This driver's random prefix: of its lease tokens, and of its own reserving and settled keys. */
  readonly tokenPrefix: string;
}

export class RedisReserve {
  readonly #redis: Redis;
  readonly #keys: KeyBuilder;
  readonly #retention: RetentionSettings;
  readonly #failedCount: number;
  readonly #tokenPrefix: string;
  /** Lease tokens are this driver's random prefix and a count: unique without random bytes per call. */
  #tokens = 0;
  /**
   * Reserve calls that failed, per queue: Redis may have run one and lost its reply, so the
   * next reserve of the queue goes under the same number and token, and reserve_jobs.lua hands
   * back what the earlier run leased along with new jobs.
   */
  readonly #failedReserves = new Map<string, { call: number; token: string }[]>();

  constructor(redis: Redis, keys: KeyBuilder, settings: ReserveSettings) {
    this.#redis = redis;
    this.#keys = keys;
    this.#retention = settings.retention;
    this.#failedCount = settings.failedCount;
    this.#tokenPrefix = settings.tokenPrefix;
  }

  /** Connection failures are not mapped here: the driver maps them (`E_REDIS_UNAVAILABLE`). */
  async reserve(queue: string, options: ReserveOptions): Promise<ReserveResult> {
    const keys = this.#keys.queue(queue);
    const failed = this.#failedReserves.get(queue);
    const again = failed?.shift();
    if (failed?.length === 0) this.#failedReserves.delete(queue);
    const call = again?.call ?? ++this.#tokens;
    const token = again?.token ?? `${this.#tokenPrefix}${call.toString(36)}`;
    let reply: [string[], string[][], number, string[], string[], string[]];
    try {
      reply = await runScript(this.#redis, 'reserve_jobs', reserveScriptKeys(keys, this.#tokenPrefix), [
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
      // a key of the queue of another type, named (a damaged one fails the call before it pops)
      throw await refusedQueueCall(this.#redis, error, queue, keys, 'no job can be reserved from it');
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

  /** Forgets the failed calls waiting to be sent again (the driver is closing). */
  forgetFailed(): void {
    this.#failedReserves.clear();
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
