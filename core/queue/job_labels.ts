/**
 * Who a job is for and what it does, in words: its `owner` (the device, account or tenant it
 * belongs to, so `job:list --owner` finds them; rex.job's owner) and its `description` (REGARDS's
 * job description). Both are stored on the record as given; neither reaches a Redis key. They
 * may come from untrusted input (a topic parameter, a command message), so they are checked here:
 * no control or invisible characters, which could forge lines or hide text in a terminal or a
 * log, and a bounded length.
 */
import { InvalidOptionError } from '../errors.js';
import { INVISIBLE, quotedVisible, shownValue } from '../support/text.js';

/** The longest owner a job may name. */
export const MAX_OWNER_LENGTH = 128;
/** The longest description a job may carry. */
export const MAX_DESCRIPTION_LENGTH = 500;

/**
 * The {@link INVISIBLE} characters: they make a terminal show other text than is stored, and a
 * lone surrogate would be stored by Redis as U+FFFD, so a filter by the value given would never
 * match it.
 */
const REFUSED = INVISIBLE;

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

/**
 * A refused value as its error shows it ({@link shownValue}), a string by its first 40
 * characters as labels count them (an emoji cut in two would show a lone surrogate).
 */
function shownLabel(value: unknown): string {
  if (typeof value !== 'string') return shownValue(value);
  const start = [...value.slice(0, 82)]; // 82 UTF-16 units hold 41 characters at least
  return quotedVisible(start.length > 40 ? `${start.slice(0, 40).join('')}...` : value);
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
