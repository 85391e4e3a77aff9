/**
 * The dead-letter store: messages that a handler could not process (invalid payload,
 * handler error), kept with the reason so an operator can see what devices sent
 * (`npx topiq messages:failed`). Bounded: the oldest entries are dropped past the limit.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeConnection, rethrowUnavailable } from '../queue/drivers/redis/unavailable.js';

/** One dead-lettered message. */
export interface DeadLetter {
  id: string;
  topic: string;
  /** The payload as UTF-8 text, or base64 when it is not valid UTF-8 (see `encoding`). */
  payload: string;
  encoding: 'utf8' | 'base64';
  /** True when the payload was cut to the first 64 KiB. */
  truncated: boolean;
  reason: string;
  code: string | null;
  /** The route pattern whose handler failed, or null. */
  route: string | null;
  clientId: string | null;
  /** Epoch ms. */
  at: number;
}

/** What a dead letter is made from. */
export interface DeadLetterInput {
  topic: string;
  payload: Buffer;
  reason: string;
  code?: string | undefined;
  route?: string | undefined;
  clientId?: string | undefined;
}

/** Storage of dead letters. */
export interface DeadLetterStore {
  add(input: DeadLetterInput): Promise<DeadLetter>;
  /** Newest first. */
  list(limit: number): Promise<DeadLetter[]>;
  /** Deletes every entry; returns how many there were. */
  flush(): Promise<number>;
}

const MAX_PAYLOAD = 64 * 1024;

/** Turns an input into a stored entry (payload encoded and bounded). */
export function toDeadLetter(input: DeadLetterInput): DeadLetter {
  const bytes = input.payload.subarray(0, MAX_PAYLOAD);
  const text = bytes.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(bytes);
  return {
    id: randomUUID(),
    topic: input.topic,
    payload: isText ? text : bytes.toString('base64'),
    encoding: isText ? 'utf8' : 'base64',
    truncated: input.payload.length > MAX_PAYLOAD,
    reason: input.reason,
    code: input.code ?? null,
    route: input.route ?? null,
    clientId: input.clientId ?? null,
    at: Date.now(),
  };
}

/**
 * Dead letters in one Redis list, trimmed to `limit` in the same MULTI. A Redis that cannot
 * be reached fails each call with `E_REDIS_UNAVAILABLE`.
 */
export class RedisDeadLetterStore implements DeadLetterStore {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #limit: number;
  readonly #unavailable: (error: unknown) => never;

  constructor(redis: Redis, prefix = 'topiq', limit = 10_000) {
    this.#redis = redis;
    this.#key = `${prefix}:dead-letters`;
    this.#limit = limit;
    this.#unavailable = rethrowUnavailable(describeConnection(redis.options));
  }

  async add(input: DeadLetterInput): Promise<DeadLetter> {
    const entry = toDeadLetter(input);
    await this.#redis
      .multi()
      .lpush(this.#key, JSON.stringify(entry))
      .ltrim(this.#key, 0, this.#limit - 1)
      .exec()
      .catch(this.#unavailable);
    return entry;
  }

  async list(limit: number): Promise<DeadLetter[]> {
    const items = await this.#redis.lrange(this.#key, 0, limit - 1).catch(this.#unavailable);
    return items.map((item) => JSON.parse(item) as DeadLetter);
  }

  async flush(): Promise<number> {
    const replies = await this.#redis.multi().llen(this.#key).del(this.#key).exec().catch(this.#unavailable);
    const [[, count]] = replies as [[null, number]];
    return count;
  }
}

/** Dead letters in process memory (the memory driver's companion). */
export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly #entries: DeadLetter[] = [];
  readonly #limit: number;

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  async add(input: DeadLetterInput): Promise<DeadLetter> {
    const entry = toDeadLetter(input);
    this.#entries.unshift(entry);
    this.#entries.length = Math.min(this.#entries.length, this.#limit);
    return entry;
  }

  async list(limit: number): Promise<DeadLetter[]> {
    return this.#entries.slice(0, limit).map((entry) => ({ ...entry }));
  }

  async flush(): Promise<number> {
    return this.#entries.splice(0).length;
  }
}
