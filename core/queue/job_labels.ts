/**
 * Who a job is for and what it does, in words: its `owner` (the device, account or tenant it
 * belongs to, so `job:list --owner` finds them; rex.job's owner) and its `description` (REGARDS's
 * job description). Both are stored on the record as given; neither reaches a Redis key. They
 * may come from untrusted input (a topic parameter, a command message), so they are checked here:
 * no control or invisible characters, which could forge lines or hide text in a terminal or a
 * log, and a bounded length.
 */
import { InvalidOptionError } from '../errors.js';

/** The longest owner a job may name. */
export const MAX_OWNER_LENGTH = 128;
/** The longest description a job may carry. */
export const MAX_DESCRIPTION_LENGTH = 500;

/**
 * Control characters (C0, DEL, C1), format characters (bidirectional overrides and isolates,
 * zero-width ones, the byte order mark: they make a terminal show other text than is stored),
 * the line and paragraph separators, and lone surrogates (Redis would store U+FFFD instead, so
 * a filter by the value given would never match it).
 */
const REFUSED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** Throws `E_INVALID_OPTION` unless `owner` is 1 to {@link MAX_OWNER_LENGTH} characters, none a control one. */
export function assertOwner(owner: unknown): asserts owner is string {
  assertLabel('owner', owner, MAX_OWNER_LENGTH, 'a device id, an account or a tenant');
}

/** Throws `E_INVALID_OPTION` unless `description` is 1 to {@link MAX_DESCRIPTION_LENGTH} characters, none a control one. */
export function assertDescription(description: unknown): asserts description is string {
  assertLabel('description', description, MAX_DESCRIPTION_LENGTH, 'one line of text');
}

function assertLabel(label: string, value: unknown, max: number, holds: string): void {
  if (typeof value !== 'string' || value.length === 0 || tooLong(value, max) || REFUSED.test(value)) {
    throw new InvalidOptionError(
      `${label} must be 1 to ${max} characters of text without control, invisible or line-break characters ` +
        `(${holds}); got ${shownLabel(value)}${typeof value === 'string' ? ` (${characters(value)} characters)` : ''}`,
    );
  }
}

/** {@link REFUSED}, for every match. */
const REFUSED_ALL = new RegExp(REFUSED.source, 'gu');

/**
 * A refused value as its error shows it: as JSON, its first 40 characters when longer (cut by
 * characters: an emoji cut in two would show a lone surrogate), and the characters it may be
 * refused for written as `\uXXXX`, so the message (printed, logged, sent in an MQTT reply)
 * cannot carry a bidirectional override or a terminal escape itself.
 */
function shownLabel(value: unknown): string {
  if (typeof value !== 'string') {
    // by its type: an array or object may be long, and hold anything
    if (value === null || typeof value !== 'object') return String(JSON.stringify(value) ?? typeof value);
    return Array.isArray(value) ? 'an array' : 'an object';
  }
  const start = [...value.slice(0, 82)]; // 82 UTF-16 units hold 41 characters at least
  const shown = start.length > 40 ? `${start.slice(0, 40).join('')}...` : value;
  return JSON.stringify(shown).replace(REFUSED_ALL, (found) =>
    Array.from(
      { length: found.length },
      (_, index) => `\\u${found.charCodeAt(index).toString(16).padStart(4, '0')}`,
    ).join(''),
  );
}

/**
 * Whether `value` has more than `max` characters as a person counts them (code points): an emoji
 * or a character past U+FFFF is one, not the two UTF-16 units `length` counts. Walked only when
 * its length cannot tell.
 */
function tooLong(value: string, max: number): boolean {
  if (value.length <= max) return false;
  return value.length > 2 * max || characters(value) > max;
}

/** The code points of `value`. */
function characters(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}
