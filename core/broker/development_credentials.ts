/**
 * Zero-setup device authentication for development: any username that is a safe device
 * id is accepted as that device, without a password check, so `npm start` and
 * `devices:simulate` work on a fresh machine (MQTT clients must still send some password).
 * Per-device topic ACLs still apply (a device may only publish under its own id). Listed
 * accounts must use their own password.
 * Never use in production: set `MQTT_DEVICES` there (the config refuses otherwise).
 */
import { isValidDeviceId, type DeviceCredentials, type Principal } from './principal.js';

/**
 * Accepts listed accounts by password, and any other safe username as a device.
 *
 * @example
 * const credentials = developmentCredentials(staticCredentials(serviceAccounts));
 */
export function developmentCredentials(
  listed?: DeviceCredentials,
  listedUsernames: ReadonlySet<string> = new Set(),
): DeviceCredentials {
  return {
    async verify(username: string, password: string): Promise<Principal | null> {
      // A listed account must present its own password, even in development.
      if (listed && listedUsernames.has(username)) return listed.verify(username, password);
      return isValidDeviceId(username) ? { kind: 'device', deviceId: username } : null;
    },
  };
}
