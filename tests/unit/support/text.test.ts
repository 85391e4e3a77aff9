/** Cutting and showing untrusted text for error messages, tables and log lines. */
import { describe, expect, it } from 'vitest';
import { cutChars, shownValue, truncate } from '../../../core/support/text.js';

describe('text helpers', () => {
  it('never cut between the halves of a surrogate pair', () => {
    expect(truncate('ab😀cd', 4)).toBe('ab…');
    expect(cutChars('ab😀cd', 3)).toBe('ab… [4 more characters cut]');
  });

  it('show an untrusted value by kind, quoted and cut, never throwing on one nested thousands deep', () => {
    let deep: unknown = [];
    for (let level = 0; level < 50_000; level++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(shownValue(deep)).toBe('an array');
    expect(shownValue({ a: 1 })).toBe('an object');
    expect(shownValue(null)).toBe('null');
    expect(shownValue(1.5)).toBe('1.5');
    expect(shownValue(false)).toBe('false');
    expect(shownValue(undefined)).toBe('undefined');
    expect(shownValue(() => 1)).toBe('a function');
    expect(shownValue('a"b')).toBe('"a\\"b"');
    expect(shownValue('x'.repeat(100), 5)).toBe('"xxxx…" (100 characters)');
  });

  it('show an untrusted string with its control, bidi, invisible and separator characters escaped', () => {
    expect(shownValue('admin\u202e')).toBe('"admin\\u202e"');
    expect(shownValue('a\u009b2J\u007f')).toBe('"a\\u009b2J\\u007f"');
    expect(shownValue('a\u200bb\u2028c')).toBe('"a\\u200bb\\u2028c"');
    expect(shownValue('a\u{e0041}b')).toBe('"a\\udb40\\udc41b"');
    expect(shownValue('a\nb')).toBe('"a\\nb"');
  });
});
