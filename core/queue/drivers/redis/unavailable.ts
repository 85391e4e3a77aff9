/**
 * Maps ioredis connection failures to `E_REDIS_UNAVAILABLE` with a message that says
 * where Topiq tried to connect and what to do; other errors pass through unchanged.
 */
import { RedisAuthError, RedisUnavailableError } from '../../../errors.js';

const CONNECTION_ERRORS =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|Reached the max retries per request|Stream isn't writeable|connect ETIMEDOUT/;

/** True when `error` means Redis could not be reached (as opposed to a command error). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || CONNECTION_ERRORS.test(error.message);
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

/** Replies of a Redis that is up but cannot serve for now (loading, busy with a script, full, a replica). */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|OOM|MISCONF|NOREPLICAS|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * True when `error` says the store could not serve a command for now, as opposed to a command
 * that is wrong: `E_REDIS_UNAVAILABLE`, a connection failure, or a reply such as LOADING, BUSY or
 * OOM. Running the same work again later may succeed.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if ((error as { code?: unknown } | undefined)?.code === 'E_REDIS_UNAVAILABLE') return true;
  return isConnectionError(error) || (error instanceof Error && TRANSIENT_REPLIES.test(error.message));
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
