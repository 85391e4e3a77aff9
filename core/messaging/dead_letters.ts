/**
 * The dead-letter store: messages that a handler could not process (invalid payload,
 * handler error), kept with the reason so an operator can see what devices sent
 * (`npx topiq messages:failed`). Bounded: the oldest entries are dropped past the limit, and
 * each entry keeps at most 64 KiB of payload, 4 KiB of reason and 1 KiB of topic and of client
 * id. An entry that is not a dead letter (damaged, or pushed by hand) is skipped and reported on
 * its own, so it cannot hide the others.
 */
import { isDateTime } from '../support/date_time.js';
import { cutBytes, utf8Boundary } from '../support/text.js';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RedisWrongTypeError } from '../errors.js';
import {
  describeConnection,
  isWrongTypeReply,
  mendKeyAdvice,
  rethrowUnavailable,
  SET_BY_OTHERS,
} from '../queue/drivers/redis/unavailable.js';
import type { ScriptArg } from '../support/lua_scripts.js';
import { messagingScripts } from './scripts.js';

/** One dead-lettered message. */
export interface DeadLetter {
  id: string;
  /** Past 1 KiB, cut and marked (see {@link cutBytes}). */
  topic: string;
  /** The payload as UTF-8 text, or base64 when it is not valid UTF-8 (see `encoding`). */
  payload: string;
  encoding: 'utf8' | 'base64';
  /**
   * True when the payload was cut to its first 64 KiB (a text payload up to 3 bytes less, so
   * that no character is split).
   */
  truncated: boolean;
  /** Why it could not be handled; past 4 KiB, cut and marked (see {@link cutBytes}). */
  reason: string;
  code: string | null;
  /** The route pattern whose handler failed, or null. */
  route: string | null;
  /** Past 1 KiB, cut and marked (see {@link cutBytes}). */
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

/** Entries of a store, newest first: the dead letters among them, and those that could not be read. */
export interface DeadLetterPage {
  /** Newest first. */
  entries: DeadLetter[];
  unreadable: UnreadableDeadLetter[];
  /**
   * Where the next page starts, for `read(limit, { after: page.next })`; undefined when the
   * store held fewer entries than asked for, so there is nothing more to read.
   */
  next?: DeadLetterCursor | undefined;
}

/**
 * Where a page ended: the place just past its last entry, and that entry. Opaque: pass back
 * what a page gave. Each store knows the entry by what it holds uniquely (the stored text, the
 * id).
 */
export interface DeadLetterCursor {
  readonly index: number;
  /**
   * The Redis store keeps the entry's bytes as stored: an entry that is no valid UTF-8 (pushed
   * by hand) read as a string would not match itself when sent back.
   */
  readonly last: string | Buffer;
}

/** Options of {@link DeadLetterStore.read}. */
export interface DeadLetterReadOptions {
  /**
   * Go on after the page that gave this cursor: with the entry it ended with, wherever that is
   * now, so that dead letters added meanwhile (at the head) are not read again, nor any skipped;
   * an empty page when that entry is gone (trimmed past the limit, so every older one is too, or
   * the store flushed).
   */
  after?: DeadLetterCursor | undefined;
}

/** Storage of dead letters. */
export interface DeadLetterStore {
  add(input: DeadLetterInput): Promise<DeadLetter>;
  /** The dead letters among the newest `limit` entries, newest first, skipping unreadable ones. */
  list(limit: number): Promise<DeadLetter[]>;
  /**
   * The newest `limit` entries, or with `after` the `limit` entries older than a page read
   * before: the dead letters, newest first, and the entries that could not be read, each on its
   * own (one damaged entry does not hide the others). Paging keeps memory to a page however
   * many entries are read; pages of a store that gets new dead letters meanwhile neither repeat
   * nor skip an entry (see {@link DeadLetterReadOptions.after}).
   *
   * @example
   * const { entries, unreadable } = await app.deadLetters.read(50);
   * for (const entry of unreadable) console.warn(`LINDEX ${entry.key} ${entry.index}: ${entry.reason}`);
   * // every entry, 100 at a time
   * for (let page = await app.deadLetters.read(100); ; page = await app.deadLetters.read(100, { after: page.next })) {
   *   show(page.entries);
   *   if (!page.next) break;
   * }
   */
  read(limit: number, options?: DeadLetterReadOptions): Promise<DeadLetterPage>;
  /** Deletes every entry, readable or not; returns how many there were. */
  flush(): Promise<number>;
}

/** The most of a payload an entry keeps, in bytes. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/**
 * The most of a reason an entry keeps, in UTF-8 bytes, its cut mark included: room for a
 * validation error's list of issues, while a handler's error quoting a 1 MiB payload does not
 * make a 1 MiB entry.
 */
export const MAX_REASON_BYTES = 4 * 1024;
/**
 * The most of a topic or a client id an entry keeps, in UTF-8 bytes, its cut mark included.
 * MQTT allows 65,535 bytes for either; real ones are a few short segments (AWS IoT refuses
 * topics past 256 bytes), so 1 KiB keeps every plausible one whole and cuts only abuse.
 */
export const MAX_NAME_BYTES = 1024;

/** Turns an input into a stored entry (payload encoded, every field of the input bounded). */
export function toDeadLetter(input: DeadLetterInput): DeadLetter {
  // text cut on a character boundary, or it would not read back as the same bytes
  const head = input.payload.subarray(0, utf8Boundary(input.payload, MAX_PAYLOAD_BYTES));
  const text = head.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(head);
  const kept = isText ? head : input.payload.subarray(0, MAX_PAYLOAD_BYTES);
  return {
    id: randomUUID(),
    topic: cutBytes(input.topic, MAX_NAME_BYTES),
    payload: isText ? text : kept.toString('base64'),
    encoding: isText ? 'utf8' : 'base64',
    truncated: input.payload.length > kept.length,
    reason: cutBytes(input.reason, MAX_REASON_BYTES),
    code: input.code ?? null,
    route: input.route ?? null,
    clientId: input.clientId === undefined ? null : cutBytes(input.clientId, MAX_NAME_BYTES),
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
  at: z.number().refine(isDateTime),
}) satisfies z.ZodType<DeadLetter>;

/**
 * Dead letters in one Redis list, added and trimmed by one script, read a page at a time by
 * another. A Redis that cannot be reached fails each call with `E_REDIS_UNAVAILABLE`; a key of
 * another type in the list's place with `E_REDIS_WRONG_TYPE`, naming the key.
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
    messagingScripts.register(redis);
  }

  async add(input: DeadLetterInput): Promise<DeadLetter> {
    const entry = toDeadLetter(input);
    await messagingScripts
      .run(this.#redis, 'add_dead_letter', [this.#key], [JSON.stringify(entry), this.#limit])
      .catch(this.#refused);
    return entry;
  }

  async list(limit: number): Promise<DeadLetter[]> {
    return (await this.read(limit)).entries;
  }

  /** Reads with one script, which finds where the page before ended (`read_dead_letters.lua`). */
  async read(limit: number, options: DeadLetterReadOptions = {}): Promise<DeadLetterPage> {
    const { after } = options;
    // as bytes: the last one goes back as the cursor, and must match the entry stored
    const args: ScriptArg[] = [limit, after?.index ?? 0, after?.last ?? ''];
    const [start, ...items] = await messagingScripts
      .runBuffer<[number, ...Buffer[]]>(this.#redis, 'read_dead_letters', [this.#key], args)
      .catch(this.#refused);
    const page: DeadLetterPage = { entries: [], unreadable: [] };
    items.forEach((item, offset) => {
      const parsed = parseDeadLetter(item.toString('utf8'));
      if ('entry' in parsed) page.entries.push(parsed.entry);
      else page.unreadable.push({ index: start + offset, key: this.#key, reason: parsed.reason });
    });
    const last = items.at(-1);
    if (items.length === limit && last !== undefined) page.next = { index: start + limit, last };
    return page;
  }

  async flush(): Promise<number> {
    return messagingScripts
      .run<number>(this.#redis, 'flush_dead_letters', [this.#key], [])
      .catch(this.#refused);
  }

  /** Rethrows a `WRONGTYPE` refusal as `E_REDIS_WRONG_TYPE`, anything else as {@link rethrowUnavailable} does. */
  readonly #refused = (error: unknown): never => {
    if (isWrongTypeReply(error)) {
      throw new RedisWrongTypeError(
        `Redis key ${this.#key} holds a value of another type, not the list Topiq keeps dead letters in ` +
          `${SET_BY_OTHERS}, so dead letters can be neither stored nor read: ${mendKeyAdvice(this.#key)}`,
        { cause: error },
      );
    }
    return this.#unavailable(error);
  };
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
    return (await this.read(limit)).entries;
  }

  /** As the Redis store reads, the entry a page ended with known by its id; none is unreadable. */
  async read(limit: number, options: DeadLetterReadOptions = {}): Promise<DeadLetterPage> {
    const { after } = options;
    let start = 0;
    if (after) {
      // an entry only moves away from the head, as new ones are added
      const last =
        this.#entries[after.index - 1]?.id === after.last
          ? after.index - 1
          : this.#entries.findIndex((entry, index) => index >= after.index - 1 && entry.id === after.last);
      if (last === -1) return { entries: [], unreadable: [] };
      start = last + 1;
    }
    const entries = this.#entries.slice(start, start + limit).map((entry) => ({ ...entry }));
    const last = entries.at(-1);
    const page: DeadLetterPage = { entries, unreadable: [] };
    if (entries.length === limit && last !== undefined) page.next = { index: start + limit, last: last.id };
    return page;
  }

  async flush(): Promise<number> {
    return this.#entries.splice(0).length;
  }
}
