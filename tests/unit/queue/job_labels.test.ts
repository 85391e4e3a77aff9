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
});
