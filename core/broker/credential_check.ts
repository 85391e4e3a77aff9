/**
 * The credential check behind the broker's `authenticate` hook: turns a CONNECT's username and
 * password into a {@link Principal} through the app's `DeviceCredentials` store, within bounds on
 * how many checks run at once and how long one may take, so that a flood of CONNECTs or a store
 * that stops answering cannot hold the broker's logins.
 */
import type { AuthenticateError, AuthErrorCode, Client } from 'aedes';
import { withDeadline } from '../support/timers.js';
import { BAD_USERNAME_OR_PASSWORD, NOT_AUTHORIZED, SERVER_UNAVAILABLE } from './connack_codes.js';
import { deviceIdProblem, type DeviceCredentials, type Principal } from './principal.js';

/**
 * Credential checks one broker runs at once. A check of a hashed password is an scrypt of
 * 16 MiB on libuv's thread pool (tens of ms), and anyone who can open a socket can ask for one:
 * past this many in flight, a CONNECT is refused at once (CONNACK 3, server unavailable, which
 * a client retries later) instead of queueing without bound in front of the app's other
 * thread-pool work.
 */
export const MAX_LOGINS_IN_FLIGHT = 64;

/**
 * How long a credential check may take before its CONNECT is refused with CONNACK 3 and its
 * place among {@link MAX_LOGINS_IN_FLIGHT} is given back: a store that stops answering (a
 * database call without a timeout) must not hold the places for good.
 */
export const LOGIN_CHECK_TIMEOUT_MS = 10_000;

/** Principal given to anonymous clients when `allowAnonymous` is on: development only. */
const ANONYMOUS: Principal = { kind: 'service', name: 'anonymous' };

/** What {@link createCredentialCheck} needs. */
export interface CredentialCheckSettings {
  readonly credentials: DeviceCredentials | undefined;
  readonly allowAnonymous: boolean;
  readonly loginTimeoutMs: number;
  /** Builds the error a refused CONNECT is answered with (the caller's, which logs it). */
  readonly authError: (returnCode: AuthErrorCode, reason: string, cause?: unknown) => AuthenticateError;
}

/**
 * Resolves to the principal of a client's CONNECT, or rejects with the error to refuse it with
 * (one marked `busy: true` when {@link MAX_LOGINS_IN_FLIGHT} checks run already).
 */
export type CredentialCheck = (client: Client, username?: string, password?: Buffer) => Promise<Principal>;

/** Builds the credential check of one broker, with its own count of checks in flight. */
export function createCredentialCheck(settings: CredentialCheckSettings): CredentialCheck {
  const { credentials, allowAnonymous, loginTimeoutMs, authError } = settings;
  /** Credential checks running (see {@link MAX_LOGINS_IN_FLIGHT}). */
  let checking = 0;

  return async function resolvePrincipal(
    client: Client,
    username?: string,
    password?: Buffer,
  ): Promise<Principal> {
    if (username === undefined && password === undefined) {
      if (allowAnonymous) return ANONYMOUS;
      throw authError(NOT_AUTHORIZED, 'no username and password, and anonymous clients are not allowed');
    }
    if (credentials === undefined) return ANONYMOUS; // only reachable when allowAnonymous is on
    if (username === undefined || password === undefined) {
      throw authError(BAD_USERNAME_OR_PASSWORD, 'a username without a password, or the reverse');
    }
    // a client that hung up after its CONNECT costs no check (and holds no place)
    if (client.conn.destroyed) {
      throw authError(NOT_AUTHORIZED, 'the connection closed before its credentials were checked');
    }
    if (checking >= MAX_LOGINS_IN_FLIGHT) {
      throw Object.assign(
        authError(
          SERVER_UNAVAILABLE,
          `${MAX_LOGINS_IN_FLIGHT} logins are being checked already (a flood of CONNECTs?); the client may retry`,
        ),
        { busy: true },
      );
    }
    let principal: Principal | null;
    checking++;
    try {
      principal = await withDeadline(
        credentials.verify(username, password.toString('utf8')),
        loginTimeoutMs,
        `no answer within ${loginTimeoutMs} ms`,
      );
    } catch (error) {
      throw authError(SERVER_UNAVAILABLE, 'the credentials store failed', error);
    } finally {
      checking--;
    }
    if (principal === null) throw authError(BAD_USERNAME_OR_PASSWORD, 'wrong username or password');
    if (principal.kind === 'device') {
      const problem = deviceIdProblem(principal.deviceId);
      if (problem !== undefined) {
        throw authError(NOT_AUTHORIZED, `the credentials store gave a device id that is unsafe: ${problem}`);
      }
    }
    return principal;
  };
}
