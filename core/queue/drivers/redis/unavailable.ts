/**
 * Maps ioredis connection failures to `E_REDIS_UNAVAILABLE` with a message that says
 * where Topiq tried to connect and what to do, and a queue script's `WRONGTYPE` refusal (or its
 * order counter holding no integer) to `E_REDIS_WRONG_TYPE` naming the key; other errors pass
 * through unchanged.
 */
import { READY_WAIT_MS } from './ready_deadline.js';
import type { Redis } from 'ioredis';
import { RedisAuthError, RedisUnavailableError, RedisWrongTypeError } from '../../../errors.js';
import { PASSING_REDIS_STATES, PASSING_REPLY } from '../../record_failure.js';
import type { QueueKeys } from './keys.js';

const CONNECTION_ERRORS =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|Reached the max retries per request|Stream isn't writeable|connect ETIMEDOUT/;

/** True when `error` means Redis could not be reached (as opposed to a command error). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || CONNECTION_ERRORS.test(error.message);
}

/**
 * True when `error` is Redis refusing a command on a key that holds another type (`WRONGTYPE`:
 * set by hand, or by another program under the same prefix). Redis 7 reports it as the reply
 * itself, Redis 6 inside "ERR Error running script".
 */
export function isWrongTypeReply(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && /\bWRONGTYPE\b/.test(error.message);
}

/** Who may have put a value of another type under one of Topiq's keys, for messages. */
export const SET_BY_OTHERS = '(set by hand, or by another program using the same prefix)';

/** How to mend key `key` that holds another type than Topiq's: for the end of a message. */
export function mendKeyAdvice(key: string): string {
  return (
    `look at it (redis-cli TYPE ${key}), then rename it to keep what it holds ` +
    `(redis-cli RENAME ${key} <new name>) or delete it (redis-cli DEL ${key})`
  );
}

/** `E_REDIS_WRONG_TYPE` for `queue`'s order counter holding no integer, so that `doing`. */
export function seqOfNoInteger(
  queue: string,
  keys: QueueKeys,
  doing: string,
  cause: unknown,
): RedisWrongTypeError {
  return new RedisWrongTypeError(
    `Redis key ${keys.seq}, the order counter of queue "${queue}", holds no integer ${SET_BY_OTHERS}, ` +
      `so ${doing}: look at it (redis-cli GET ${keys.seq}), then delete it (redis-cli DEL ${keys.seq}; ` +
      'jobs waiting already may then run after newer ones of their priority)',
    { cause },
  );
}

/** The type each key of a queue holds, as `TYPE` names it (the job hashes are named per job). */
const QUEUE_KEY_TYPES: readonly (readonly [keyof QueueKeys, string])[] = [
  ['wait', 'zset'],
  ['delayed', 'zset'],
  ['active', 'zset'],
  ['leases', 'hash'],
  ['pending', 'zset'],
  ['failed', 'zset'],
  ['completed', 'list'],
  ['completedTimes', 'list'],
  ['cancelled', 'zset'],
  ['expired', 'zset'],
  ['seq', 'string'],
  ['signal', 'list'],
];

/**
 * `E_REDIS_WRONG_TYPE` for the record of job `id` of `queue`, whose key `key` holds a `type`
 * other than a hash, so that `doing` (as "job 7 cannot be cancelled"): what it is and how to
 * mend it. For a script refused on it ({@link refusedJobCall}) and for a read by id that found
 * no record there (`RedisRecords.getJob`).
 */
export function jobKeyOfAnotherType(
  job: { queue: string; id: string; key: string; type: string },
  doing: string,
  cause?: unknown,
): RedisWrongTypeError {
  const { queue, id, key, type } = job;
  return new RedisWrongTypeError(
    `Redis key ${key}, the record of job ${id} of queue "${queue}", holds a ${type}, not a hash ${SET_BY_OTHERS}, ` +
      `so ${doing}: ${mendKeyAdvice(key)}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * `error`, thrown by a script working on job `id` of `queue` (`doing`: what it was for, as "job
 * 7 cannot be cancelled"), as `E_REDIS_WRONG_TYPE` when it is a `WRONGTYPE` refusal or the
 * queue's order counter holding no integer; anything else as it is. The job's scripts make
 * every call that can fail so before their first write (or their one write is refused), so
 * nothing was changed. Redis's reply names no key: the job's own is asked its type (one call, on
 * this failure only) to name it; when it is a hash, the key is another of the queue
 * ({@link refusedQueueCall}).
 */
export async function refusedJobCall(
  redis: Redis,
  error: unknown,
  job: { queue: string; id: string; keys: QueueKeys },
  doing: string,
): Promise<unknown> {
  if (!isWrongTypeReply(error)) return refusedQueueCall(redis, error, job.queue, job.keys, doing);
  const { queue, id, keys } = job;
  const key = `${keys.job}${id}`;
  const type = await redis.type(key).catch(() => undefined);
  if (type !== undefined && type !== 'hash' && type !== 'none') {
    return jobKeyOfAnotherType({ queue, id, key, type }, doing, error);
  }
  return refusedQueueCall(redis, error, queue, keys, doing);
}

/**
 * `error`, thrown by a script on `queue` (`doing`: what it was for, as "the failed jobs of
 * queue "emails" cannot be retried"), as `E_REDIS_WRONG_TYPE` when its order counter holds no
 * integer ("value is not an integer") or one of its keys holds another type (`WRONGTYPE`):
 * the message names the key, found by asking the type of each of the queue's keys (one round
 * trip, on this failure only), and how to mend it. Anything else as it is.
 */
export async function refusedQueueCall(
  redis: Redis,
  error: unknown,
  queue: string,
  keys: QueueKeys,
  doing: string,
): Promise<unknown> {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return error;
  if (/\bvalue is not an integer\b/.test(error.message)) return seqOfNoInteger(queue, keys, doing, error);
  if (!isWrongTypeReply(error)) return error;
  const found = await keyOfAnotherType(redis, keys).catch(() => undefined);
  if (found) {
    const { key, type, expected } = found;
    return new RedisWrongTypeError(
      `Redis key ${key} of queue "${queue}" holds a ${type}, not a ${expected} ${SET_BY_OTHERS}, so ${doing}: ` +
        mendKeyAdvice(key),
      { cause: error },
    );
  }
  const pattern = `${keys.seq.slice(0, -'seq'.length)}*`;
  return new RedisWrongTypeError(
    `a Redis key of queue "${queue}" (${pattern}) holds a value of another type ${SET_BY_OTHERS}, so ${doing} ` +
      `(${error.message}): find it (redis-cli --scan --pattern '${pattern}', then TYPE), then ` +
      'rename it to keep what it holds or delete it',
    { cause: error },
  );
}

/** The first of the queue's own keys that holds another type than its own, asked in one pipeline. */
async function keyOfAnotherType(
  redis: Redis,
  keys: QueueKeys,
): Promise<{ key: string; type: string; expected: string } | undefined> {
  const pipeline = redis.pipeline();
  for (const [name] of QUEUE_KEY_TYPES) pipeline.type(keys[name]);
  const replies = (await pipeline.exec()) ?? [];
  for (const [index, [name, expected]] of QUEUE_KEY_TYPES.entries()) {
    const type = replies[index]?.[1];
    if (typeof type === 'string' && type !== 'none' && type !== expected) {
      return { key: keys[name], type, expected };
    }
  }
  return undefined;
}

/** True when `error` is Redis refusing the connection's password, or asking for one. */
export function isAuthRefusal(error: unknown): boolean {
  return error instanceof Error && /^(NOAUTH|WRONGPASS)\b/.test(error.message);
}

/** The `E_REDIS_AUTH` error for Redis at `where` refusing the password of `cause`. */
export function authRefusal(where: string, cause: unknown): RedisAuthError {
  return new RedisAuthError(
    `Redis at ${where} refused the connection's password (${(cause as Error).message}): set the password in ` +
      'REDIS_URL (redis://:password@host:6379, or redis://user:password@host:6379 with an ACL user)',
    { cause },
  );
}

/**
 * One of those states anywhere in a reply: a script refused a write reports it inside its own
 * error (Redis 6: `ERR Error running script ... -OOM command not allowed ...`).
 */
export const PASSING_STATE_ANYWHERE = new RegExp(`\\b(${PASSING_REDIS_STATES.join('|')})\\b`);

/** What ioredis rejects a command with when its connection closed under it. */
const CONNECTION_CLOSED = 'Connection is closed.';

/**
 * True when `error`, or an error in its `cause` chain, is Redis not serving for now, as opposed
 * to a command (or anything else) that is wrong: `E_REDIS_UNAVAILABLE`, `E_REDIS_AUTH` (a
 * password an operator may set right), ioredis giving up on a connection
 * (`MaxRetriesPerRequestError`, a closed connection), or a Redis reply such as `LOADING`,
 * `BUSY` or `OOM`. Only Redis's own errors count: an error of other code whose message reads
 * the same (a device's payload quoted in a parse error, an HTTP client's `ECONNREFUSED`) does
 * not, so the same work is not retried forever for it. Stricter than `isPassingRedisError`
 * (record_failure.ts), which reads the driver's own errors, already mapped by
 * {@link rethrowUnavailable}; this one reads what a handler or middleware threw.
 */
export function isRedisUnavailable(error: unknown): boolean {
  let at: unknown = error;
  for (let depth = 0; at instanceof Error && depth < 8; depth++, at = at.cause) {
    const code = (at as { code?: unknown }).code;
    if (code === 'E_REDIS_UNAVAILABLE' || code === 'E_REDIS_AUTH') return true;
    if (at.name === 'MaxRetriesPerRequestError' || at.message === CONNECTION_CLOSED) return true;
    if (at.name === 'ReplyError' && PASSING_REPLY.test(at.message)) return true;
    if (at.name === 'ReplyError' && /^ERR Error running script/.test(at.message)) {
      if (PASSING_STATE_ANYWHERE.test(at.message)) return true;
    }
  }
  return false;
}

/**
 * True when `error` is Redis refusing the `SELECT` of the connection's database (a number past
 * the server's `databases`). ioredis only emits it and goes on in database 0.
 */
export function isDatabaseRefusal(error: unknown): boolean {
  // a NOAUTH or WRONGPASS answered to the SELECT is about the password, not the database;
  // "DB index is out of range" for a number past the server's databases, "value is out of
  // range" or "value is not an integer" for one it cannot read
  return (
    (error as { command?: { name?: string } } | undefined)?.command?.name === 'select' &&
    /DB index is out of range|value is (?:out of range|not an integer)/i.test((error as Error).message)
  );
}

/**
 * Rethrows a connection failure as `E_REDIS_UNAVAILABLE`, a refused password as
 * `E_REDIS_AUTH`; anything else as it is. When
 * `refused()` gives an error (the connection's database was refused, and it was closed for
 * it), every failure is that error. `unanswered()` says whether the connection was last closed
 * for answering nothing (see `limitReadyWait`), which the message then says.
 */
export function rethrowUnavailable(
  where: string,
  refused: () => Error | undefined = () => undefined,
  unanswered: () => boolean = () => false,
): (error: unknown) => never {
  return (error) => {
    const refusal = refused();
    if (refusal) throw refusal;
    if (isAuthRefusal(error)) throw authRefusal(where, error);
    if (isConnectionError(error)) {
      // a TLS handshake with a server that speaks plain Redis never ends: it times out
      const tls = where.endsWith(TLS_MARK)
        ? ' REDIS_URL starts with rediss://, which asks for TLS: if the server speaks plain Redis, use redis://.'
        : '';
      const failure = unanswered()
        ? `it accepted the connection but answered nothing within ${READY_WAIT_MS / 1000} s: a hung server, or another service on that port`
        : connectionFailure(error as Error);
      throw new RedisUnavailableError(
        `Redis at ${where} did not answer (${failure}).${tls} Start Redis, or point REDIS_URL ` +
          'at a running server (in development, with REDIS_URL unset, Topiq uses its in-memory driver)',
        { cause: error },
      );
    }
    throw error;
  };
}

/** What went wrong with the connection, in a few words (ioredis's retry advice left out). */
function connectionFailure(error: Error): string {
  if (
    error.name === 'MaxRetriesPerRequestError' ||
    /Reached the max retries per request/.test(error.message)
  ) {
    return 'no connection after its retries';
  }
  return error.message;
}

/** How {@link describeConnection} marks a connection over TLS. */
const TLS_MARK = ' (TLS)';

/** A Redis URL with its password hidden, for messages. */
export function describeConnection(options: {
  host?: string;
  port?: number;
  db?: number;
  tls?: unknown;
}): string {
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}${options.db ? `/${options.db}` : ''}${options.tls ? TLS_MARK : ''}`;
}
