/**
 * The one place that builds Redis keys. Every key of a queue carries the queue name as a
 * hash tag (`topiq:{emails}:wait`), so a queue lives in one Redis Cluster slot and its
 * Lua scripts may touch all of its keys. Names are validated before they get here.
 */
import { assertJobId, assertQueueName } from '../../names.js';

/** The keys of one queue. */
export interface QueueKeys {
  /** Ready jobs, scored by (priority, sequence). */
  wait: string;
  /** Jobs scheduled for later, scored by run-at epoch ms. */
  delayed: string;
  /** Running jobs, scored by lease deadline epoch ms. */
  active: string;
  /** Hash of running job id to the token of its lease (the same jobs as `active`). */
  leases: string;
  /** Jobs on hold until released, scored by creation time. */
  pending: string;
  failed: string;
  /**
   * Ids of completed jobs whose records are kept, oldest first (a list). A job hash that
   * says `running` while the job has no lease is completed; see `completedTimes`.
   */
  completed: string;
  /**
   * When the kept completed records finished, oldest first (a list): one `count:epochMs`
   * entry per acknowledgement call, for the next `count` ids of `completed`.
   */
  completedTimes: string;
  cancelled: string;
  expired: string;
  /** Sequence counter for FIFO order among equal priorities. */
  seq: string;
  /** A short list pushed to wake blocked workers. */
  signal: string;
  /** Prefix of job hashes: `${job}${id}`. */
  job: string;
  /** Prefix of 10-second completion counters: `${doneBucket}${floor(epochMs / 10000)}`, on the Redis server clock. */
  doneBucket: string;
  /**
   * Prefix of the number of a driver's latest reserve call on this queue:
   * `${reserving}${driver token prefix}` (reserve_jobs.lua tells a repeated call by it).
   */
  reserving: string;
  /**
   * Prefix of what a driver's recent reserve calls on this queue settled (failed, expired or
   * changed jobs), a hash by call number: `${reserveSettled}${driver token prefix}`, sent again
   * by a run of a call again after a lost reply (reserve_jobs.lua).
   */
  reserveSettled: string;
  /**
   * Prefix of the answers of a driver's recent complete calls on this queue (a hash, call
   * number -> one digit per job): `${acked}${driver token prefix}` (complete_jobs.lua answers a
   * call run again after a lost reply from it).
   */
  acked: string;
}

/**
 * A `:db<N>` level, which the Pub/Sub channels of an app on database N add after its prefix
 * (`topiq:db2:events`): a prefix may not hold one, or an app on database 0 with prefix
 * `topiq:db2` would share the channels of one on database 2 with prefix `topiq`.
 */
export const CHANNEL_DATABASE = /:db\d+(?::|$)/;

/** Builds key names under a prefix (default `topiq`). */
export class KeyBuilder {
  readonly #prefix: string;
  /** The start of the Pub/Sub channel names: the prefix, and the database when not 0. */
  readonly #channels: string;
  readonly #cache = new Map<string, QueueKeys>();

  /**
   * `database`: the Redis database the keys live in. Pub/Sub channels are shared by every
   * database of a server, so on a database other than 0 the channels name it
   * (`topiq:db2:events`): apps kept apart by database hear only their own job events, cancels
   * and listeners. Database 0 keeps the plain names (`topiq:events`).
   */
  constructor(prefix = 'topiq', database = 0) {
    if (!/^[A-Za-z0-9_.:-]{1,32}$/.test(prefix) || CHANNEL_DATABASE.test(prefix)) {
      throw new TypeError(
        `Redis key prefix ${JSON.stringify(prefix)} must be 1-32 of A-Z a-z 0-9 _ . : -, with no ":db<N>" level (it names the Pub/Sub channels of database N)`,
      );
    }
    this.#prefix = prefix;
    this.#channels = database === 0 ? prefix : `${prefix}:db${database}`;
  }

  /** The key prefix, e.g. `topiq`. */
  get prefix(): string {
    return this.#prefix;
  }

  /** The set of every queue name seen (not hash-tagged: it spans queues). */
  get queueSet(): string {
    return `${this.#prefix}:queues`;
  }

  /** The keys of `queue`. */
  queue(queue: string): QueueKeys {
    let keys = this.#cache.get(queue);
    if (!keys) {
      assertQueueName(queue);
      const base = `${this.#prefix}:{${queue}}:`;
      keys = {
        wait: `${base}wait`,
        delayed: `${base}delayed`,
        active: `${base}active`,
        leases: `${base}leases`,
        pending: `${base}pending`,
        failed: `${base}failed`,
        completed: `${base}completed:ids`,
        completedTimes: `${base}completed:times`,
        cancelled: `${base}cancelled`,
        expired: `${base}expired`,
        seq: `${base}seq`,
        signal: `${base}signal`,
        job: `${base}job:`,
        doneBucket: `${base}done:`,
        reserving: `${base}reserving:`,
        reserveSettled: `${base}reserve-settled:`,
        acked: `${base}acked:`,
      };
      this.#cache.set(queue, keys);
    }
    return keys;
  }

  /** The channel job events are published on. */
  get eventsChannel(): string {
    return `${this.#channels}:events`;
  }

  /** The channel processes listening to job events announce themselves on (`event_listeners.ts`). */
  get eventListenersChannel(): string {
    return `${this.#channels}:events:listeners`;
  }

  /** The channel cancel requests for running jobs are published on. */
  get cancelsChannel(): string {
    return `${this.#channels}:cancels`;
  }

  /** The sorted set of live workers, scored by heartbeat expiry. */
  get workerSet(): string {
    return `${this.#prefix}:workers`;
  }

  /** The hash of job `id` in `queue`. */
  job(queue: string, id: string): string {
    assertJobId(id);
    return this.queue(queue).job + id;
  }
}
