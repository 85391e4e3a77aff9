/**
 * An owner or a description is bounded in characters as a person counts them (code points): a
 * label of emoji or of characters past U+FFFF may be as long as one of letters.
 */
import { describe, expect, it } from 'vitest';
import {
  assertDescription,
  assertOwner,
  MAX_DESCRIPTION_LENGTH,
  MAX_OWNER_LENGTH,
} from '../../../core/queue/job_labels.js';

describe('owner and description lengths', () => {
  it.each([
    ['letters', 'x'],
    ['emoji', '📡'],
    ['mathematical letters past U+FFFF', '𝐀'],
  ])('takes an owner of %s up to the bound, refuses one more, and counts them so in its error', (_, unit) => {
    expect(() => assertOwner(unit.repeat(MAX_OWNER_LENGTH))).not.toThrow();
    expect(() => assertOwner(unit.repeat(MAX_OWNER_LENGTH + 1))).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_OPTION',
        message: expect.stringContaining(`(${MAX_OWNER_LENGTH + 1} characters)`),
      }),
    );
  });

  it('shows a refused label cut by characters, never inside an emoji', () => {
    expect(() => assertOwner(`a${'🚪'.repeat(MAX_OWNER_LENGTH)}`)).toThrow(
      expect.objectContaining({ message: expect.stringContaining(`"a${'🚪'.repeat(39)}..."`) }),
    );
  });

  it('shows a refused label of 40 characters or fewer whole, without "...", however many UTF-16 units', () => {
    // 36 characters (51 UTF-16 units), refused for its bell character
    const owner = `${'a'.repeat(20)}${'😀'.repeat(15)}\u0007`;
    expect(() => assertOwner(owner)).toThrow(
      expect.objectContaining({
        message: expect.stringContaining(`"${'a'.repeat(20)}${'😀'.repeat(15)}\\u0007" (36 characters)`),
      }),
    );
  });

  it.each([
    ['a right-to-left override', 'device-1\u202egnp.exe', 'device-1\\u202egnp.exe'],
    ['a C1 control sequence introducer', 'device-1\u009b2J', 'device-1\\u009b2J'],
    ['a zero-width space', 'a\u200bb', 'a\\u200bb'],
    ['a line separator', 'a\u2028b', 'a\\u2028b'],
    ['a tag character past U+FFFF', 'a\u{e0041}b', 'a\\udb40\\udc41b'],
  ])('writes %s in its error as an escape, not as itself', (_, owner, shown) => {
    let message = '';
    try {
      assertOwner(owner);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`got "${shown}"`);
    expect(message).not.toMatch(/[\u202e\u009b\u200b\u2028]|\u{e0041}/u);
  });

  it('takes a description of 500 emoji and refuses 501', () => {
    expect(() => assertDescription('🔧'.repeat(MAX_DESCRIPTION_LENGTH))).not.toThrow();
    expect(() => assertDescription('🔧'.repeat(MAX_DESCRIPTION_LENGTH + 1))).toThrow(
      expect.objectContaining({
        message: expect.stringContaining(`(${MAX_DESCRIPTION_LENGTH + 1} characters)`),
      }),
    );
  });

  it('refuses a label of a million characters, counting them in its error', () => {
    expect(() => assertDescription('d'.repeat(1_000_000))).toThrow(
      expect.objectContaining({ message: expect.stringContaining('(1000000 characters)') }),
    );
  });

  it.each([
    ['an array', ['\u202eevil', 'x'.repeat(100_000)], 'got an array'],
    ['an object', { name: '\u009b31m' }, 'got an object'],
    ['a number', 42, 'got 42'],
    ['a bigint', 10n, 'got a bigint'],
  ])('shows a refused owner that is %s by its type or value, never its contents', (_, owner, shown) => {
    let message = '';
    try {
      assertOwner(owner);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(shown);
    expect(message.length).toBeLessThan(300);
    expect(message).not.toMatch(/[\u202e\u009b]/u);
  });
});
