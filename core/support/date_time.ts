/** The one check of "a time a `Date` holds", for times read back from stores or the wire. */

/** The largest epoch-ms time a `Date` holds, either side of 1970 (ECMAScript's time value limit). */
const MAX_TIME_MS = 8.64e15;

/**
 * Whether `value` is an epoch-ms time a `Date` holds: a finite number within ±8.64e15 ms, so that
 * `new Date(value).toISOString()` does not throw (a damaged field of `1e300` or `NaN` is none).
 *
 * @example
 * isDateTime(Date.now()); // true
 * isDateTime(1e300); // false
 */
export function isDateTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_TIME_MS;
}
