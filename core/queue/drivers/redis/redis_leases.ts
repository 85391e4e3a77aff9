/**
 * What a worker does on Redis with the jobs it holds leases on, besides completing them
 * (redis_complete.ts): renew the leases (`extend`), store a job's progress (`progress`), record
 * a failed attempt (`fail`) and hand jobs back to their queue (`release`). Each is one script
 * call (per queue), answered per lease.
 */
import type { Redis } from 'ioredis';
import { groupBy } from '../../../support/group_by.js';
import type {
  ExtendOptions,
  Failure,
  FailOutcome,
  FailResult,
  Lease,
  LeaseState,
  ReleaseOptions,
  ReleaseOutcome,
  RetentionSettings,
} from '../../driver.js';
import type { KeyBuilder, QueueKeys } from './keys.js';
import { runScript } from './scripts.js';
import { isWrongTypeReply, refusedJobCall, refusedQueueCall } from './unavailable.js';

export class RedisLeases {
  readonly #redis: Redis;
  readonly #keys: KeyBuilder;
  readonly #retention: RetentionSettings;
  readonly #failedCount: number;

  constructor(
    redis: Redis,
    keys: KeyBuilder,
    settings: { readonly retention: RetentionSettings; readonly failedCount: number },
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#retention = settings.retention;
    this.#failedCount = settings.failedCount;
  }

  // A key of another type is named here; a connection failure is E_REDIS_UNAVAILABLE from the
  // driver, which maps every call's.

  extend(leases: readonly Lease[], leaseMs: number, options: ExtendOptions = {}): Promise<LeaseState[]> {
    return this.#perQueue(
      leases,
      options.started,
      'extend_leases',
      ['active', 'leases'],
      [leaseMs],
      ['lost', 'ok', 'cancel'],
      'its leases cannot be renewed',
      // a queue whose leases or active set were replaced by hand renews nothing: its jobs are
      // answered lost (their handlers stop), and the other queues' leases are renewed
      'lost',
    );
  }

  async progress(
    lease: Lease,
    percent: number,
    message: string | null,
    data?: string | null,
  ): Promise<boolean> {
    const key = this.#keys.job(lease.queue, lease.id);
    const keys = this.#keys.queue(lease.queue);
    const stored = await runScript<number>(
      this.#redis,
      'update_progress',
      [key, keys.leases],
      [lease.id, lease.token, percent, message ?? '', data ?? ''],
    ).catch(async (error: unknown) => {
      const doing = `the progress of job ${lease.id} cannot be stored`;
      throw await refusedJobCall(this.#redis, error, { queue: lease.queue, id: lease.id, keys }, doing);
    });
    return stored === 1;
  }

  async fail(failure: Failure): Promise<FailResult> {
    const { lease } = failure;
    const keys = this.#keys.queue(lease.queue);
    const answer = await runScript<string>(
      this.#redis,
      'fail_job',
      [keys.active, keys.wait, keys.delayed, keys.failed, keys.seq, keys.signal, keys.cancelled, keys.leases],
      [
        keys.job,
        lease.id,
        lease.token,
        JSON.stringify(failure.error),
        failure.retryInMs === null ? -1 : Math.max(0, Math.round(failure.retryInMs)),
        this.#retention.completedCount,
        this.#retention.completedAgeMs,
        this.#failedCount,
      ],
    ).catch(async (error: unknown) => {
      const doing = `the failed attempt of job ${lease.id} cannot be recorded`;
      throw await refusedJobCall(this.#redis, error, { queue: lease.queue, id: lease.id, keys }, doing);
    });
    return failResult(answer);
  }

  release(leases: readonly Lease[], options: ReleaseOptions = {}): Promise<ReleaseOutcome[]> {
    const { completedCount, completedAgeMs } = this.#retention;
    return this.#perQueue(
      leases,
      options.started,
      'release_jobs',
      ['active', 'wait', 'signal', 'cancelled', 'leases'],
      [completedCount, completedAgeMs],
      ['lost', 'queued', 'cancelled'],
      'its jobs cannot be handed back',
    );
  }

  /**
   * Runs `script` once per queue of `leases`, its keys `keyNames` of that queue, its arguments
   * the job key prefix, `args`, how many of the group's leases are of started jobs, then each
   * lease's id and token; answers each lease by the code the script gave it (`answers[code]`,
   * the first for any other), in the order of `leases`. A key of the queue of another type is
   * named in `E_REDIS_WRONG_TYPE` (`doing`: what could not be done, for its message). The first `started` leases are of jobs
   * whose handler has started: groupBy keeps the order, so they lead each group, and the script
   * marks the first that many as started.
   */
  async #perQueue<T>(
    leases: readonly Lease[],
    started: number | undefined,
    script: 'extend_leases' | 'release_jobs',
    keyNames: readonly (keyof QueueKeys)[],
    args: readonly (string | number)[],
    answers: readonly [T, ...T[]],
    doing: string,
    refusedAs?: T,
  ): Promise<T[]> {
    const outcomes = new Map<Lease, T>();
    // none below one (a negative end would count from the last lease); slice rounds a fraction down
    const startedLeases = new Set(leases.slice(0, Math.max(0, started ?? 0)));
    await Promise.all(
      [...groupBy(leases, (lease) => lease.queue)].map(async ([queue, group]) => {
        const keys = this.#keys.queue(queue);
        const argv: (string | number)[] = [
          keys.job,
          ...args,
          group.filter((lease) => startedLeases.has(lease)).length,
        ];
        for (const lease of group) argv.push(lease.id, lease.token);
        const codes = await runScript<number[]>(
          this.#redis,
          script,
          keyNames.map((name) => keys[name] as string),
          argv,
        ).catch(async (error: unknown) => {
          // answered as refusedAs: the key's name and type, which refusedQueueCall looks up, unused
          if (refusedAs !== undefined && isWrongTypeReply(error)) return undefined;
          throw await refusedQueueCall(this.#redis, error, queue, keys, doing);
        });
        if (codes === undefined) {
          for (const lease of group) outcomes.set(lease, refusedAs!);
          return;
        }
        group.forEach((lease, index) => {
          outcomes.set(lease, answers[codes[index] ?? 0] ?? answers[0]);
        });
      }),
    );
    return leases.map((lease) => outcomes.get(lease)!);
  }
}

/** fail_job.lua's answer: an outcome, or `retrying:<runAt>` for a retry that waits. */
function failResult(answer: string): FailResult {
  if (answer.startsWith('retrying:')) return { outcome: 'retrying', runAt: Number(answer.slice(9)) };
  return { outcome: answer as FailOutcome };
}
