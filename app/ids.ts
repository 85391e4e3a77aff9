/**
 * Ids the example app derives from what devices send. A device id is whatever the broker let a
 * device log in as (any text without `+`, `#`, `/` or NUL), while state ids and job ids are 1-128
 * of `A-Z a-z 0-9 _ . : -` starting with a letter or digit: such text is hashed to fit, so every
 * device is served and two devices never share an id.
 */
import { createHash } from 'node:crypto';
import { isSafeId } from '../core/index.js';

/** How a hashed state id starts. */
const HASHED = 'sha256.';

/** SHA-256 of `text` in hex, cut to `length` characters. */
function digest(text: string, length = 40): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * The state id of device `deviceId`: the id itself when it is one (readable in Redis), else
 * `sha256.` and a digest of it. An id that already starts with `sha256.` is hashed too, so a
 * device logging in as another's digest cannot take its state.
 *
 * @example
 * deviceStateId('sensor-17'); // 'sensor-17'
 * deviceStateId('lobby sensor'); // 'sha256.<40 hex digits>'
 */
export function deviceStateId(deviceId: string): string {
  return isSafeId(deviceId) && !deviceId.startsWith(HASHED) ? deviceId : `${HASHED}${digest(deviceId)}`;
}

/**
 * A job id made from `parts` (a device id, a time...), the same for the same parts: `prefix-`
 * and a digest of them (as a JSON array, so no two sets of parts read alike), so it fits
 * whatever the parts hold.
 *
 * @example
 * derivedJobId('alert', 'sensor-17', '2026-01-01T00:00:00.000Z'); // 'alert-<32 hex digits>'
 */
export function derivedJobId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${digest(JSON.stringify(parts), 32)}`;
}

/** An ISO 8601 time as one text whatever its form (`…00Z`, `…00.000Z`), or as given when it is none. */
export function canonicalTime(at: string): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? at : new Date(ms).toISOString();
}
