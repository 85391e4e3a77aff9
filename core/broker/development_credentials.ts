/**
 * Zero-setup device authentication for development: any username that is a safe device
 * id is accepted as that device, without a password check, so `npm start` and
 * `devices:simulate` work on a fresh machine. Per-device topic ACLs still apply (a device
 * may only publish under its own id). Listed accounts are still checked by password.
 * Never use in production: set `MQTT_DEVICES` there (the config refuses otherwise).
 */
import { isValidDeviceId, type DeviceCredentials, type Principal } from './principal.js';

/**
 * Accepts listed accounts by password, and any other safe username as a device.
 *
 * @example
 * const credentials = developmentCredentials(staticCredentials(serviceAccounts));
 */
export function developmentCredentials(listed?: DeviceCredentials): DeviceCredentials {
  return {
    async verify(username: string, password: string): Promise<Principal | null> {
      const known = listed ? await listed.verify(username, password) : null;
      if (known) return known;
      return isValidDeviceId(username) ? { kind: 'device', deviceId: username } : null;
    },
  };
}
