/**
 * Cutting text to a bound with a mark that says so: by UTF-16 characters (what a record or a
 * log line keeps) or by UTF-8 bytes (what a dead letter keeps), never splitting a character.
 */

/**
 * `text` cut to its first `max` characters (never between the halves of a surrogate pair),
 * followed by `… [N more characters cut]`; `text` itself when it is no longer.
 *
 * @example
 * cutChars('abcdef', 3); // 'abc… [3 more characters cut]'
 */
export function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… [${text.length - end} more characters cut]`;
}

/**
 * `text` shortened to at most `max` characters, ending in `…` when cut (never between the
 * halves of a surrogate pair): for a table cell or a one-line summary, where the count of what
 * was cut would not fit.
 *
 * @example
 * truncate('abcdef', 4); // 'abc…'
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * Where to cut `bytes` at `max` or just before, so as not to split a UTF-8 character: a
 * continuation byte (`10xxxxxx`) at the cut belongs to a character that starts up to 3 bytes
 * before it, and the cut moves to that start. Bytes that are not UTF-8 are cut at `max`.
 */
export function utf8Boundary(bytes: Buffer, max: number): number {
  if (bytes.length <= max) return bytes.length;
  let end = max;
  while (end > max - 3 && end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return end;
}

/**
 * `text` when it is at most `maxBytes` bytes of UTF-8; otherwise its start, cut on a character
 * boundary, and a mark saying how long it was, all in `maxBytes`.
 *
 * @example
 * cutBytes('x'.repeat(5000), 4096); // 'xxx…x… [cut from 5000 bytes]', 4096 bytes in all
 */
export function cutBytes(text: string, maxBytes: number): string {
  // no character takes more than 3 UTF-8 bytes per UTF-16 unit
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const mark = `… [cut from ${bytes.length} bytes]`;
  const kept = bytes.subarray(0, utf8Boundary(bytes, maxBytes - Buffer.byteLength(mark)));
  return `${kept.toString('utf8')}${mark}`;
}

/**
 * Control characters (C0, DEL, C1), format characters (bidirectional overrides and isolates,
 * zero-width ones, the byte order mark), the line and paragraph separators, and lone surrogates:
 * characters that make a terminal or a log show other text than is stored.
 */
export const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

/**
 * `text` as a JSON string literal with every {@link INVISIBLE} character written `\uXXXX`
 * (`JSON.stringify` leaves DEL, C1 controls, bidi overrides and separators as they are), so an
 * error message quoting untrusted text cannot carry them itself.
 *
 * @example
 * quotedVisible('admin\u202e'); // '"admin\\u202e"'
 */
export function quotedVisible(text: string): string {
  return JSON.stringify(text).replace(INVISIBLE_ALL, (found) =>
    Array.from(
      { length: found.length },
      (_, index) => `\\u${found.charCodeAt(index).toString(16).padStart(4, '0')}`,
    ).join(''),
  );
}

/**
 * An untrusted value as an error message may show it: a string quoted and cut to `max`
 * characters (with its length when cut; {@link INVISIBLE} characters escaped), a number, boolean or null as JSON writes it, and an
 * array or object only by its kind. Never throws: `JSON.stringify` of a value nested
 * thousands deep (a few KB of JSON from a device) overflows the stack, and a long one would be
 * echoed whole into the reply or log line.
 *
 * @example
 * shownValue([[1]]); // 'an array'
 * shownValue('x'.repeat(100), 5); // '"xxxx…" (100 characters)'
 */
export function shownValue(value: unknown, max = 40): string {
  if (typeof value === 'string') {
    const shown = quotedVisible(truncate(value, max));
    return value.length > max ? `${shown} (${value.length} characters)` : shown;
  }
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
