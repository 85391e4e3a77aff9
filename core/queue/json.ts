/**
 * JSON safety for job payloads and results. A payload is written to Redis as JSON and
 * read back by another process, so anything JSON would silently change (functions,
 * class instances, cycles, `undefined` in arrays, BigInt, NaN) is refused up front with
 * the path of the offending value.
 */
import { InvalidPayloadError } from '../errors.js';
import { cutChars } from '../support/text.js';

/** A value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number') return String(value);
  const name = (value as object).constructor?.name;
  return name ? `an instance of ${name}` : 'an object with a custom prototype';
}

/**
 * Deepest nesting of arrays and objects accepted. Checking is recursive, and a payload of a few
 * hundred KB of `[[[...]]]`, which JSON.parse accepts, would otherwise overflow the stack.
 */
export const MAX_JSON_DEPTH = 256;

function check(value: unknown, path: string, seen: Set<object>, depth = 0): string | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `${path} is ${describe(value)}, which JSON cannot carry`;
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) return `${path} refers back to itself (a cycle)`;
      if (depth >= MAX_JSON_DEPTH) return `${path} nests arrays and objects more than ${MAX_JSON_DEPTH} deep`;
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          for (let index = 0; index < value.length; index++) {
            if (!(index in value)) return `${path}[${index}] is a hole in a sparse array`;
            let item: unknown;
            try {
              item = value[index];
            } catch (error) {
              return unreadable(`${path}[${index}]`, error);
            }
            if (item === undefined) return `${path}[${index}] is undefined, which JSON turns into null`;
            const problem = check(item, `${path}[${index}]`, seen, depth + 1);
            if (problem) return problem;
          }
          return null;
        }
        const prototype = Object.getPrototypeOf(value);
        if (prototype !== Object.prototype && prototype !== null && !isEmptyPrototype(prototype)) {
          return `${path} is ${describe(value)}; pass plain objects (e.g. an ISO string instead of a Date)`;
        }
        for (const key of Object.keys(value)) {
          let item: unknown;
          try {
            item = (value as Record<string, unknown>)[key];
          } catch (error) {
            return unreadable(`${path}.${key}`, error);
          }
          if (item === undefined) continue; // dropped by JSON like an absent optional field
          const problem = check(item, `${path}.${key}`, seen, depth + 1);
          if (problem) return problem;
        }
        return null;
      } finally {
        seen.delete(value);
      }
    }
    default:
      return `${path} is ${describe(value)}, which JSON cannot carry`;
  }
}

/**
 * What made reading `value` throw (a getter, a proxy's trap), as a problem of the value rather
 * than a failure of the caller: a result that cannot be read never will be, so a job returning
 * one fails for good, not once per try.
 */
function unreadable(path: string, error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? String(error.message) : String(error);
  } catch {
    message = 'what it threw could not be read either'; // a thrown value whose message throws
  }
  return `${path} could not be read (${cutChars(message, 200)})`;
}

/**
 * Throws `E_INVALID_PAYLOAD` unless `value` round-trips through JSON unchanged.
 *
 * @example
 * assertJsonSafe({ to: 'a@b.c' }, 'SendEmailJob payload'); // ok
 * assertJsonSafe({ at: new Date() }, 'payload'); // throws: payload.at is an instance of Date
 */
export function assertJsonSafe(value: unknown, label = 'payload'): asserts value is JsonValue {
  let problem: string | null;
  try {
    problem = check(value, label, new Set());
  } catch (error) {
    // a trap the checks run into (a proxy's getPrototypeOf or ownKeys, a revoked proxy)
    problem = unreadable(label, error);
  }
  if (problem) {
    throw new InvalidPayloadError(
      `${problem}. Job payloads, results and progress data must be plain JSON data; store ids, not objects.`,
    );
  }
}

/** JSON-encodes a value after {@link assertJsonSafe}; `undefined` becomes `null`. */
export function encodeJson(value: unknown, label = 'payload'): string {
  if (value === undefined) return 'null';
  assertJsonSafe(value, label);
  try {
    return JSON.stringify(value);
  } catch (error) {
    // a getter that answered the check and throws when read again
    throw new InvalidPayloadError(
      `${unreadable(label, error)}. Job payloads, results and progress data must be plain JSON data.`,
    );
  }
}

/** Parses JSON written by {@link encodeJson}, as `E_INVALID_PAYLOAD` when it is corrupt. */
export function decodeJson(text: string, label = 'payload'): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw new InvalidPayloadError(`${label} is not valid JSON (${(cause as Error).message})`, { cause });
  }
}

/**
 * Whether `prototype` adds nothing to the objects made from it: frozen, without keys of its
 * own, and with no prototype itself, as route params' (`ctx.params`, built cheaper than
 * `Object.create(null)` objects). Such objects encode as the plain objects they look like.
 */
function isEmptyPrototype(prototype: object): boolean {
  return (
    Object.getPrototypeOf(prototype) === null &&
    Object.isFrozen(prototype) &&
    Reflect.ownKeys(prototype).length === 0
  );
}
