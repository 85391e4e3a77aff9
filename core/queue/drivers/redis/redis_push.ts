/**
 * Adding jobs on Redis (`QueueDriver.push`): the whole call checked before anything is
 * written, one push_jobs.lua call per queue and 1,000 jobs, and a key that holds another type
 * refused as `E_REDIS_WRONG_TYPE` naming it and the fix.
 */
import type { Redis } from 'ioredis';
import { RedisWrongTypeError } from '../../../errors.js';
import { groupBy } from '../../../support/group_by.js';
import type { NewJob, PushOutcome } from '../../driver.js';
import { assertJobName } from '../../names.js';
import type { KeyBuilder, QueueKeys } from './keys.js';
import { runScript } from './scripts.js';
import { isWrongTypeReply, mendKeyAdvice, SET_BY_OTHERS, seqOfNoInteger } from './unavailable.js';

/** push_jobs.lua's answer per job, by number (0: an existing job has that id). */
const PUSH_OUTCOMES: readonly PushOutcome[] = ['duplicate', 'queued', 'delayed', 'pending'];
/** push_jobs.lua's answer for a job whose key holds another type: not added. */
const KEY_OF_ANOTHER_TYPE = 4;

export class RedisPush {
  readonly #redis: Redis;
  readonly #keys: KeyBuilder;
  /** Queues this driver has added to the queue list already: their SADD is not sent again. */
  readonly #knownQueues = new Set<string>();

  constructor(redis: Redis, keys: KeyBuilder) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Connection failures are not mapped here: the driver maps them (`E_REDIS_UNAVAILABLE`). */
  async push(jobs: readonly NewJob[]): Promise<PushOutcome[]> {
    // all checked before anything is written: a bad entry refuses the whole call
    for (const job of jobs) {
      this.#keys.job(job.queue, job.id); // validates the queue name and id
      assertJobName(job.name);
    }
    const byQueue = groupBy(jobs, (job) => job.queue);
    const outcomes = new Map<NewJob, PushOutcome>();
    // Each queue is its own script call. All are let finish before a failure is thrown, so none
    // is still writing when the caller sends the push again; jobs a call stored are then
    // answered by their pushToken as the first try would have answered them, not `duplicate`.
    const settled = await Promise.allSettled(
      [...byQueue].map(async ([queue, list]) => {
        const keys = this.#keys.queue(queue);
        // ids whose key holds another type: not added, refused once the rest is stored
        const refused: string[] = [];
        try {
          if (!this.#knownQueues.has(queue)) {
            await this.#redis.sadd(this.#keys.queueSet, queue);
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
            const added = await runScript<number[]>(
              this.#redis,
              'push_jobs',
              [keys.wait, keys.delayed, keys.pending, keys.seq, keys.signal],
              args,
            );
            chunk.forEach((job, index) => {
              if (added[index] === KEY_OF_ANOTHER_TYPE) refused.push(job.id);
              else outcomes.set(job, PUSH_OUTCOMES[added[index]!] ?? 'duplicate');
            });
          }
          if (refused.length > 0) throw jobKeysOfAnotherType(queue, keys, refused);
        } catch (error) {
          throw refusedPush(queue, keys, this.#keys.queueSet, error);
        }
      }),
    );
    for (const result of settled) if (result.status === 'rejected') throw result.reason;
    return jobs.map((job) => outcomes.get(job)!);
  }
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
      `type ${SET_BY_OTHERS}, so the job was not added (the other jobs of the queue were): ` +
      `${mendKeyAdvice(key)}, and dispatch the job again`,
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
  if (/\bvalue is not an integer\b/.test(error.message)) {
    return seqOfNoInteger(queue, keys, 'no job can be added to the queue', error);
  }
  if (isWrongTypeReply(error)) {
    const pattern = `${keys.seq.slice(0, -'seq'.length)}*`;
    return new RedisWrongTypeError(
      `a Redis key of queue "${queue}" (${pattern}) or the queue list ${queueSet} holds a value of ` +
        `another type ${SET_BY_OTHERS}, so jobs cannot be added to the queue (${error.message}): find it ` +
        `(redis-cli --scan --pattern '${pattern}', then TYPE), then rename it to keep what it holds or delete it`,
      { cause: error },
    );
  }
  return error;
}
