/**
 * Acknowledging jobs on Redis (`QueueDriver.complete`): one complete_jobs.lua call per queue,
 * numbered per queue so that a call whose reply was lost, sent again with the same array, gets
 * the answer of its first run (the script keeps recent answers) instead of `lost` leases.
 */
import type { Redis } from 'ioredis';
import { groupBy } from '../../../support/group_by.js';
import type { Completion, RetentionSettings } from '../../driver.js';
import type { KeyBuilder } from './keys.js';
import { runScript } from './scripts.js';
import { refusedQueueCall } from './unavailable.js';

export class RedisComplete {
  readonly #redis: Redis;
  readonly #keys: KeyBuilder;
  readonly #retention: RetentionSettings;
  /** This driver's random prefix: its own key of kept answers. */
  readonly #tokenPrefix: string;
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

  constructor(
    redis: Redis,
    keys: KeyBuilder,
    settings: { readonly retention: RetentionSettings; readonly tokenPrefix: string },
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#retention = settings.retention;
    this.#tokenPrefix = settings.tokenPrefix;
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
      throw error;
    }
    return completions.map((completion) => done.get(completion)!);
  }

  async #complete(
    queue: string,
    group: readonly Completion[],
    calls: Map<string, number>,
    done: Map<Completion, boolean>,
  ): Promise<void> {
    const keys = this.#keys.queue(queue);
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
    let answer: string;
    try {
      answer = await runScript<string>(
        this.#redis,
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
    } catch (error) {
      // a key of the queue of another type, named (the script checks them before its writes)
      throw await refusedQueueCall(this.#redis, error, queue, keys, 'its jobs cannot be completed');
    }
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
}
