/**
 * The dead-letter store: messages that a handler could not process (invalid payload,
 * handler error), kept with the reason so an operator can see what devices sent
 * (`npx topiq messages:failed`). Bounded: the oldest entries are dropped past the limit. An
 * entry that is not a dead letter (damaged, or pushed by hand) is skipped and reported on its
 * own, so it cannot hide the others.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeConnection, rethrowUnavailable } from '../queue/drivers/redis/unavailable.js';
import { z } from 'zod';

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

/**
 * A stored entry that is not a dead letter: not JSON, or without a field of one (damaged, or
 * written by hand). Skipped by `list`, reported by `read` so an operator can look at it.
 */
export interface UnreadableDeadLetter {
  /** Its place in the store, newest first from 0 (`redis-cli LINDEX <key> <index>`). */
  index: number;
  /** The Redis key of the list that holds it. */
  key: string;
  /** Why it could not be read. */
  reason: string;
}

/** The newest entries of a store: the dead letters among them, and those that could not be read. */
export interface DeadLetterPage {
  /** Newest first. */
  entries: DeadLetter[];
  unreadable: UnreadableDeadLetter[];
}

/** Storage of dead letters. */
export interface DeadLetterStore {
  add(input: DeadLetterInput): Promise<DeadLetter>;
  /** The dead letters among the newest `limit` entries, newest first, skipping unreadable ones. */
  list(limit: number): Promise<DeadLetter[]>;
  /**
   * The newest `limit` entries: the dead letters, newest first, and the entries that could not
   * be read, each on its own (one damaged entry does not hide the others).
   *
   * @example
   * const { entries, unreadable } = await app.deadLetters.read(50);
   * for (const entry of unreadable) console.warn(`LINDEX ${entry.key} ${entry.index}: ${entry.reason}`);
   */
  read(limit: number): Promise<DeadLetterPage>;
  /** Deletes every entry, readable or not; returns how many there were. */
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
 * A stored entry read back: the dead letter, or why it is not one (not JSON, or a field missing
 * or of the wrong type), as heartbeats are read back (`parseWorkerInfo`).
 */
export function parseDeadLetter(text: string): { entry: DeadLetter } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { reason: 'not a JSON object' };
  }
  const parsed = DEAD_LETTER.safeParse(value);
  if (!parsed.success) {
    const wrong = new Set(parsed.error.issues.map((issue) => String(issue.path[0])));
    return { reason: `missing or invalid ${[...wrong].join(', ')}` };
  }
  return { entry: value as DeadLetter };
}

/** What a stored {@link DeadLetter} must hold. */
const DEAD_LETTER = z.object({
  id: z.string(),
  topic: z.string(),
  payload: z.string(),
  encoding: z.enum(['utf8', 'base64']),
  truncated: z.boolean(),
  reason: z.string(),
  code: z.string().nullable(),
  route: z.string().nullable(),
  clientId: z.string().nullable(),
  // a time a Date can print
  at: z.number().refine((value) => Number.isFinite(new Date(value).getTime())),
}) satisfies z.ZodType<DeadLetter>;

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
    return (await this.read(limit)).entries;
  }

  async read(limit: number): Promise<DeadLetterPage> {
    const items = await this.#redis.lrange(this.#key, 0, limit - 1).catch(this.#unavailable);
    const page: DeadLetterPage = { entries: [], unreadable: [] };
    items.forEach((item, index) => {
      const parsed = parseDeadLetter(item);
      if ('entry' in parsed) page.entries.push(parsed.entry);
      else page.unreadable.push({ index, key: this.#key, reason: parsed.reason });
    });
    return page;
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

  /** As {@link list}: entries in memory are never unreadable. */
  async read(limit: number): Promise<DeadLetterPage> {
    return { entries: await this.list(limit), unreadable: [] };
  }

  async flush(): Promise<number> {
    return this.#entries.splice(0).length;
  }
}
