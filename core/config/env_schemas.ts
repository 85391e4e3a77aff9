/**
 * Schemas for the kinds of value the config files read from the environment, strict where
 * `z.coerce` is lax: `z.coerce.number()` takes `0x50` as 80, `1e3` as 1000 and a blank as 0,
 * and a URL that only starts right (`redis://host:99999`) fails later, as a stack trace from
 * deep in a client, or connects somewhere else. Each refuses such a value when the config is
 * read, so it is reported as `E_INVALID_CONFIG` naming the variable.
 *
 * Not exported from `core/index.ts`: it loads zod at run time, and a worker process that
 * loads zod was measured to spend about twice the garbage collection per job
 * (`npm run bench:records`), so a program that runs a `Worker` without the config files
 * should not pay for it.
 */
import { z } from 'zod';
import { MAX_TIMER_MS } from '../support/timers.js';

/**
 * A whole number written in decimal digits, from `min` (default 0) to `max` (default 2^53 - 1).
 *
 * @example
 * MQTT_BROKER_PORT: envInteger(1883, { max: 65535 }),
 */
export function envInteger(fallback: number, range: { min?: number; max?: number } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = range;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number in decimal digits, from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(fallback);
}

/** The words an on/off variable takes, and what each means. */
export const SWITCH_WORDS: Readonly<Record<string, boolean>> = {
  on: true,
  true: true,
  '1': true,
  off: false,
  false: false,
  '0': false,
};

/** An on/off variable: `on`, `true` or `1`, `off`, `false` or `0`, read as a boolean. */
export function envSwitch(fallback: boolean) {
  return (
    z
      // listed as before in the refusal (an object's keys would put 0 and 1 first)
      .enum(['true', 'false', '1', '0', 'on', 'off'])
      .default(fallback ? 'on' : 'off')
      .transform((word) => SWITCH_WORDS[word] === true)
  );
}

/** A duration in ms for a timer: a whole number from `min` to Node's longest timer (about 24.8 days). */
export function envMs(fallback: number, min = 0) {
  return envInteger(fallback, { min, max: MAX_TIMER_MS });
}

/** A number written in decimal digits, with a fraction or not, at least `min`. */
export function envDecimal(fallback: number, min = 0) {
  return z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `must be a number in decimal digits (e.g. 1.5), at least ${min}`)
    .transform(Number)
    .pipe(z.number().min(min))
    .default(fallback);
}

/**
 * A server URL with one of `protocols` (without the colon), a host, an optional port from 1 to
 * 65535 and, when `database` is set, an optional path naming a database by number (`/2`).
 */
export function envServerUrl(protocols: readonly string[], example: string, database = false) {
  return z
    .string()
    .trim()
    .superRefine((text, context) => {
      const problem = serverUrlProblem(text, protocols, database);
      if (problem) context.addIssue({ code: 'custom', message: `${problem} (e.g. ${example})` });
    });
}

/** The largest database number a Redis server can have (`databases` is a C int). */
const MAX_DATABASE = 2_147_483_647;

function serverUrlProblem(text: string, protocols: readonly string[], database: boolean): string | undefined {
  const schemes = protocols.map((protocol) => `${protocol}://`).join(', ');
  if (!protocols.some((protocol) => text.startsWith(`${protocol}://`))) return `must start with ${schemes}`;
  // the URL parser refuses a port past 65535 or not a number, and an empty host
  if (!URL.canParse(text)) return 'is not a valid URL (check the host and the port, 1 to 65535)';
  // a # starts the URL's fragment: one in a password makes the rest of it the fragment, and
  // what comes before the next @ the host
  if (text.includes('#'))
    return 'holds a #, which ends the URL there; percent-encode a # of the password as %23 (and an @ as %40)';
  const url = new URL(text);
  if (url.hostname === '') return 'names no host';
  if (url.port === '0') return 'has port 0; give the port the server listens on, 1 to 65535';
  if (database) {
    const path = url.pathname.replace(/^\//, '');
    if (path !== '' && !/^\d+$/.test(path))
      return `names database "${path}"; a database is a whole number (/0, /1, ...)`;
    // Redis answers a SELECT past its integers with another error than for a database it does
    // not have, and ioredis then goes on in database 0
    // ioredis reads a database from ?db= too (over the path's), unchecked
    const query = url.searchParams.get('db');
    if (query !== null && !/^\d+$/.test(query))
      return `names database "${query}" in ?db=; a database is a whole number (/0, /1, ...)`;
    if (query !== null && path !== '' && Number(query) !== Number(path))
      return `names two databases, /${path} and ?db=${query}; name one`;
    const database = query ?? path;
    if (database !== '' && Number(database) > MAX_DATABASE)
      return `names database ${database}, past any Redis server's (at most ${MAX_DATABASE}; a server has 16 by default)`;
  } else if (url.pathname !== '' && url.pathname !== '/' && !/^wss?$/.test(url.protocol.slice(0, -1))) {
    return `has a path (${url.pathname}), which this kind of URL does not take`;
  }
  return undefined;
}

/**
 * Text read by a parser of core's own (`parseQueueList`, `parsePrefetchSetting`), whose error
 * message becomes the config's, naming the variable.
 *
 * @example
 * WORKER_QUEUES: envParsed(parseQueueList).optional(),
 */
export function envParsed<T>(parse: (text: string) => T) {
  return z.string().transform((text, context) => {
    try {
      return parse(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}
