/**
 * Maps ioredis connection failures to `E_REDIS_UNAVAILABLE` with a message that says
 * where Topiq tried to connect and what to do, and a job script's `WRONGTYPE` refusal to
 * `E_REDIS_WRONG_TYPE` naming the key; other errors pass through unchanged.
 */
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

/**
 * `error`, thrown by a script working on job `id` of `queue` (`doing`: what it was for, as "job
 * 7 cannot be cancelled"), as `E_REDIS_WRONG_TYPE` when it is a `WRONGTYPE` refusal; anything
 * else as it is. The job's scripts read its hash before any write (or their one write is
 * refused), so nothing was changed. Redis's reply names no key: the job's own is asked its type
 * (one call, on this failure only) to name it; when it is a hash, the key is another of the queue.
 */
export async function refusedJobCall(
  redis: Redis,
  error: unknown,
  job: { queue: string; id: string; keys: QueueKeys },
  doing: string,
): Promise<unknown> {
  if (!isWrongTypeReply(error)) return error;
  const { queue, id, keys } = job;
  const key = `${keys.job}${id}`;
  const other = '(set by hand, or by another program using the same prefix)';
  const type = await redis.type(key).catch(() => undefined);
  if (type !== undefined && type !== 'hash' && type !== 'none') {
    return new RedisWrongTypeError(
      `Redis key ${key}, the record of job ${id} of queue "${queue}", holds a ${type}, not a hash ${other}, ` +
        `so ${doing}: look at it (redis-cli TYPE ${key}), then rename it to ` +
        `keep what it holds (redis-cli RENAME ${key} <new name>) or delete it (redis-cli DEL ${key})`,
      { cause: error },
    );
  }
  const pattern = `${keys.seq.slice(0, -'seq'.length)}*`;
  return new RedisWrongTypeError(
    `a Redis key of queue "${queue}" (${pattern}) holds a value of another type ${other}, so ${doing} ` +
      `(${(error as Error).message}): find it (redis-cli --scan --pattern '${pattern}', then TYPE), then ` +
      'rename it to keep what it holds or delete it',
    { cause: error },
  );
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
  // a NOAUTH or WRONGPASS answered to the SELECT is about the password, not the database
  return (
    (error as { command?: { name?: string } } | undefined)?.command?.name === 'select' &&
    /DB index is out of range/i.test((error as Error).message)
  );
}

/**
 * Rethrows a connection failure as `E_REDIS_UNAVAILABLE`, a refused password as
 * `E_REDIS_AUTH`; anything else as it is. When
 * `refused()` gives an error (the connection's database was refused, and it was closed for
 * it), every failure is that error.
 */
export function rethrowUnavailable(
  where: string,
  refused: () => Error | undefined = () => undefined,
): (error: unknown) => never {
  return (error) => {
    const refusal = refused();
    if (refusal) throw refusal;
    if (isAuthRefusal(error)) throw authRefusal(where, error);
    if (isConnectionError(error)) {
      throw new RedisUnavailableError(
        `Redis at ${where} did not answer (${connectionFailure(error as Error)}). Start Redis, or point REDIS_URL ` +
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

/** A Redis URL with its password hidden, for messages. */
export function describeConnection(options: { host?: string; port?: number; db?: number }): string {
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}${options.db ? `/${options.db}` : ''}`;
}
