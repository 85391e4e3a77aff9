/**
 * A small keyed store for application state that handlers keep between messages, such
 * as each device's last known status. One Redis hash per namespace (or a Map in memory);
 * namespaces and ids are validated before they reach a key, since ids usually come from
 * topic levels that devices chose.
 */
import type { Redis } from 'ioredis';
import { InvalidOptionError, InvalidPayloadError, StateTooLargeError } from '../errors.js';
import { encodeJson, type JsonObject } from '../queue/json.js';
import { isSafeId } from '../queue/names.js';
import { describeConnection, rethrowUnavailable } from '../queue/drivers/redis/unavailable.js';
import { shownValue } from '../support/text.js';
import { messagingScripts } from './scripts.js';

/**
 * The most an entry may hold: fields, and bytes of its field names and values (as JSON text)
 * together. A merge that would take an entry past either and make it larger is refused
 * (`E_STATE_TOO_LARGE`) and changes nothing: a handler that merges a device's payload whole
 * would otherwise grow the entry, and the work of every merge, without bound. (An entry already
 * past one, stored before these limits, still takes merges that do not grow it.)
 */
export const STATE_ENTRY_LIMITS = { fields: 256, bytes: 64 * 1024 } as const;

/** A lone UTF-16 surrogate: half of a pair, which UTF-8 cannot hold. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The fields to merge as JSON texts, each checked to be JSON data (as a job payload is). A
 * field name goes to Redis as it is, as UTF-8, where a lone surrogate (JSON's `"\ud800"`, from a
 * device's payload merged whole) would become U+FFFD: two such names would be stored as one, and
 * read back other than written. So such a name is refused, in memory as in Redis.
 */
function encodedFields(namespace: string, id: string, fields: JsonObject): [string, string][] {
  // as JSON.stringify leaves out a field whose value is undefined
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => {
      if (LONE_SURROGATE.test(name)) {
        throw new InvalidPayloadError(
          `state ${namespace}/${id} field name ${shownValue(name)} holds a lone UTF-16 surrogate (half of ` +
            'a pair, as JSON\'s "\\ud800" writes one), which cannot be stored as written: merge field names of well-formed text',
        );
      }
      return [name, encodeJson(value, `state ${namespace}/${id} field ${JSON.stringify(name)}`)];
    });
}

/** `clear`: how to start the entry afresh (the Redis command), when there is one to name. */
function tooLarge(
  namespace: string,
  id: string,
  fields: number,
  bytes: number,
  clear?: string,
): StateTooLargeError {
  return new StateTooLargeError(
    `state entry ${namespace}/${id} would hold ${fields} fields in ${bytes} bytes, over the limit of ` +
      `${STATE_ENTRY_LIMITS.fields} fields and ${STATE_ENTRY_LIMITS.bytes} bytes, so nothing was merged: keep ` +
      'less in it (merge chosen fields, not a whole payload), or spread it over more ids' +
      (clear ? `; to start the entry afresh: ${clear}` : ''),
  );
}

/** An entry's fields, and bytes of its names and values as JSON text, as merge_state.lua counts them. */
function entrySize(entry: JsonObject): [number, number] {
  let bytes = 0;
  const names = Object.keys(entry);
  for (const name of names) bytes += Buffer.byteLength(name) + Buffer.byteLength(JSON.stringify(entry[name]));
  return [names.length, bytes];
}

function checkName(value: string, label: string): void {
  // namespaces and ids follow the job id rule
  if (!isSafeId(value)) {
    throw new InvalidOptionError(
      `${label} ${JSON.stringify(value)} must be 1-128 of A-Z a-z 0-9 _ . : -, starting with a letter or digit ` +
        "(hash a device id that may hold others, as the example app's deviceStateId does)",
    );
  }
}

/** State kept between messages. */
export interface StateStore {
  /** Shallow-merges `fields` into the entry and returns the merged entry. */
  merge(namespace: string, id: string, fields: JsonObject): Promise<JsonObject>;
  get(namespace: string, id: string): Promise<JsonObject | undefined>;
  /** Every entry of a namespace, by id. */
  all(namespace: string): Promise<Record<string, JsonObject>>;
}

/**
 * An entry as stored by `merge_state.lua`: `v2:` and an object of field name -> the field's
 * JSON text, or (first layout) the entry object itself.
 */
function decodeEntry(text: string): JsonObject {
  if (!text.startsWith('v2:')) return JSON.parse(text) as JsonObject;
  const fields = JSON.parse(text.slice(3)) as Record<string, string>;
  // fromEntries defines own properties: a field named __proto__ stays a field
  return Object.fromEntries(Object.entries(fields).map(([name, json]) => [name, JSON.parse(json)]));
}

/**
 * State in Redis hashes `<prefix>:state:<namespace>`, merged atomically by a Lua script. A
 * Redis that cannot be reached fails each call with `E_REDIS_UNAVAILABLE`, which the message
 * pipeline waits out rather than dead-letter the message.
 */
export class RedisStateStore implements StateStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #unavailable: (error: unknown) => never;

  constructor(redis: Redis, prefix = 'topiq') {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#unavailable = rethrowUnavailable(describeConnection(redis.options));
    messagingScripts.register(redis);
  }

  async merge(namespace: string, id: string, fields: JsonObject): Promise<JsonObject> {
    checkName(namespace, 'namespace');
    checkName(id, 'id');
    const key = `${this.#prefix}:state:${namespace}`;
    const pairs = encodedFields(namespace, id, fields).flat();
    const limits = [String(STATE_ENTRY_LIMITS.fields), String(STATE_ENTRY_LIMITS.bytes)];
    // read-modify-write of one entry as one script (merge_state.lua): atomic without a lock
    const merged = await messagingScripts
      .run<string>(this.#redis, 'merge_state', [key], [id, ...limits, ...pairs])
      .catch((error: unknown) => {
        const over = /^TOPIQ_STATE_TOO_LARGE (\d+) (\d+)/.exec((error as Error).message ?? '');
        if (over)
          throw tooLarge(namespace, id, Number(over[1]), Number(over[2]), `redis-cli HDEL ${key} ${id}`);
        return this.#unavailable(error);
      });
    return decodeEntry(merged);
  }

  async get(namespace: string, id: string): Promise<JsonObject | undefined> {
    checkName(namespace, 'namespace');
    checkName(id, 'id');
    const value = await this.#redis.hget(`${this.#prefix}:state:${namespace}`, id).catch(this.#unavailable);
    return value === null ? undefined : decodeEntry(value);
  }

  async all(namespace: string): Promise<Record<string, JsonObject>> {
    checkName(namespace, 'namespace');
    const entries = await this.#redis.hgetall(`${this.#prefix}:state:${namespace}`).catch(this.#unavailable);
    return Object.fromEntries(Object.entries(entries).map(([id, value]) => [id, decodeEntry(value)]));
  }
}

/** State in process memory. */
export class MemoryStateStore implements StateStore {
  readonly #namespaces = new Map<string, Map<string, JsonObject>>();

  async merge(namespace: string, id: string, fields: JsonObject): Promise<JsonObject> {
    checkName(namespace, 'namespace');
    checkName(id, 'id');
    const entries = this.#namespaces.get(namespace) ?? new Map<string, JsonObject>();
    // a field whose value is undefined is left as it was, as the Redis store (and JSON) does;
    // the others as JSON reads them back (-0 as 0), as Redis keeps them
    const given = encodedFields(namespace, id, fields).map(
      ([name, json]) => [name, JSON.parse(json)] as const,
    );
    const before = entries.get(id) ?? {};
    const merged: JsonObject = { ...before, ...Object.fromEntries(given) };
    const [countBefore, bytesBefore] = entrySize(before);
    const [count, bytes] = entrySize(merged);
    const over = count > STATE_ENTRY_LIMITS.fields || bytes > STATE_ENTRY_LIMITS.bytes;
    if (over && (count > countBefore || bytes > bytesBefore)) throw tooLarge(namespace, id, count, bytes);
    this.#namespaces.set(namespace, entries);
    entries.set(id, merged);
    return structuredClone(merged);
  }

  async get(namespace: string, id: string): Promise<JsonObject | undefined> {
    checkName(namespace, 'namespace');
    checkName(id, 'id');
    const value = this.#namespaces.get(namespace)?.get(id);
    return value === undefined ? undefined : structuredClone(value);
  }

  async all(namespace: string): Promise<Record<string, JsonObject>> {
    checkName(namespace, 'namespace');
    return Object.fromEntries(
      [...(this.#namespaces.get(namespace) ?? [])].map(([id, value]) => [id, structuredClone(value)]),
    );
  }
}
