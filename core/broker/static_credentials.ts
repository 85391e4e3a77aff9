/**
 * A `DeviceCredentials` store backed by a fixed list, for small fleets and development.
 * Entries with a `deviceId` are devices; entries without one are privileged service
 * accounts (the application itself, dashboards) named after their username.
 */
import { InvalidOptionError } from '../errors.js';
import { hashPassword, isPasswordHash, parsePasswordHash, verifyPassword } from './password_hash.js';
import { assertValidDeviceId, type DeviceCredentials, type Principal } from './principal.js';

/** One account of {@link staticCredentials}. */
export interface StaticCredential {
  readonly username: string;
  /** Plaintext, or a `scrypt:<salt>:<hash>` string from `hashPassword()`. */
  readonly password: string;
  /** The device this account belongs to; leave out for a service account. */
  readonly deviceId?: string;
}

interface Account {
  readonly password: string;
  readonly principal: Principal;
}

/**
 * Builds a credentials store from a list of accounts, validating it at once: an empty
 * or duplicate username, an empty password, a malformed hash or an unsafe device id throws
 * `InvalidOptionError`.
 *
 * @example
 * const credentials = staticCredentials([
 *   { username: 'sensor-1', password: await hashPassword('s3cret'), deviceId: 'sensor-1' },
 *   { username: 'topiq-app', password: process.env.MQTT_APP_PASSWORD! }, // service account
 * ]);
 * await startEmbeddedBroker({ port: 1883, logger, credentials });
 */
export function staticCredentials(list: readonly StaticCredential[]): DeviceCredentials {
  const accounts = new Map<string, Account>();
  for (const [index, entry] of list.entries()) {
    const where = `credentials[${index}]`;
    if (entry.username.length === 0) throw new InvalidOptionError(`${where}: the username is empty.`);
    if (accounts.has(entry.username)) {
      throw new InvalidOptionError(`${where}: the username ${JSON.stringify(entry.username)} appears twice.`);
    }
    if (entry.password.length === 0) {
      throw new InvalidOptionError(`${where}: the password is empty; a client sending none would match it.`);
    }
    if (isPasswordHash(entry.password)) parsePasswordHash(entry.password);
    if (entry.deviceId !== undefined) assertValidDeviceId(entry.deviceId, where);
    const principal: Principal =
      entry.deviceId === undefined
        ? { kind: 'service', name: entry.username }
        : { kind: 'device', deviceId: entry.deviceId };
    accounts.set(entry.username, { password: entry.password, principal });
  }

  // Every check costs the same, so response time does not reveal which usernames exist:
  // an unknown username pays for a check against a decoy, and where any account is hashed,
  // a plaintext account pays for a check against the (hashed) decoy as well. The decoy is
  // made on first need.
  const usesHashes = [...accounts.values()].some((account) => isPasswordHash(account.password));
  let decoy: Promise<string> | undefined;
  const checkDecoy = async (password: string): Promise<void> => {
    decoy ??= usesHashes ? hashPassword('decoy') : Promise.resolve('decoy');
    await verifyPassword(password, await decoy);
  };

  return {
    async verify(username, password) {
      const account = accounts.get(username);
      if (account === undefined) {
        await checkDecoy(password);
        return null;
      }
      if (usesHashes && !isPasswordHash(account.password)) await checkDecoy(password);
      return (await verifyPassword(password, account.password)) ? account.principal : null;
    },
  };
}
