/**
 * Who an MQTT connection is. The embedded broker asks a `DeviceCredentials` store to
 * turn a username and password into a `Principal`, and every later decision (which
 * topics a client may publish or subscribe to) is made from that principal alone.
 */
import { InvalidOptionError } from '../errors.js';

/** A device: may use only the topics its ACL templates expand to for its id. */
export interface DevicePrincipal {
  readonly kind: 'device';
  readonly deviceId: string;
}

/** A trusted service (the application itself, a dashboard): may use any topic. */
export interface ServicePrincipal {
  readonly kind: 'service';
  readonly name: string;
}

/** The identity the broker grants a connection after authentication. */
export type Principal = DevicePrincipal | ServicePrincipal;

/**
 * A store that checks MQTT credentials. `verify` resolves the principal for a matching
 * username and password, `null` when they do not match, and rejects only when the
 * store itself fails (the client is then refused with "server unavailable").
 *
 * @example
 * const credentials: DeviceCredentials = {
 *   async verify(username, password) {
 *     const row = await db.devices.findByUsername(username);
 *     if (!row || !(await verifyPassword(password, row.passwordHash))) return null;
 *     return { kind: 'device', deviceId: row.id };
 *   },
 * };
 */
export interface DeviceCredentials {
  verify(username: string, password: string): Promise<Principal | null>;
}

/**
 * Why `deviceId` cannot be used as a device id, or `undefined` when it can. A device id
 * is substituted into topic filters, so MQTT wildcards (`+`, `#`), the level separator
 * `/`, NUL and a leading `$` (reserved topics such as `$SYS`) would widen its ACL.
 */
export function deviceIdProblem(deviceId: string): string | undefined {
  if (deviceId.length === 0) return 'it is empty';
  if (/[+#/]/.test(deviceId) || deviceId.includes('\u0000')) return "it contains '+', '#', '/' or NUL";
  if (deviceId.startsWith('$')) return "it starts with '$'";
  return undefined;
}

/** True when `deviceId` can be substituted into topic ACL templates safely. */
export function isValidDeviceId(deviceId: string): boolean {
  return deviceIdProblem(deviceId) === undefined;
}

/** Throws `InvalidOptionError` when `deviceId` is not a valid device id. */
export function assertValidDeviceId(deviceId: string, where: string): void {
  const problem = deviceIdProblem(deviceId);
  if (problem !== undefined) {
    throw new InvalidOptionError(
      `${where}: device id ${JSON.stringify(deviceId)} is not allowed because ${problem}; ` +
        'device ids are put into topic filters and must not change their meaning.',
    );
  }
}

/** The fields a log line carries to say who a principal is. */
export function principalLogFields(principal: Principal | undefined): Record<string, string> {
  if (principal === undefined) return {};
  return principal.kind === 'device' ? { deviceId: principal.deviceId } : { service: principal.name };
}
