import { describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import {
  hashPassword,
  isPasswordHash,
  parsePasswordHash,
  verifyPassword,
} from '../../../core/broker/password_hash.js';

describe('hashPassword', () => {
  it('produces a scrypt:<salt>:<hash> string', async () => {
    const stored = await hashPassword('s3cret');

    expect(stored).toMatch(/^scrypt:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
    expect(isPasswordHash(stored)).toBe(true);
  });

  it('salts every hash, so one password gives different hashes', async () => {
    expect(await hashPassword('s3cret')).not.toBe(await hashPassword('s3cret'));
  });
});

describe('verifyPassword', () => {
  it('accepts the password a hash was made from and nothing else', async () => {
    const stored = await hashPassword('s3cret');

    expect(await verifyPassword('s3cret', stored)).toBe(true);
    expect(await verifyPassword('s3cret ', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('compares against a plaintext password when the stored value is not a hash', async () => {
    expect(await verifyPassword('plain', 'plain')).toBe(true);
    expect(await verifyPassword('plain', 'plainer')).toBe(false);
    expect(await verifyPassword('', '')).toBe(true);
  });

  it('rejects with InvalidOptionError for a malformed hash', async () => {
    const error = await verifyPassword('x', 'scrypt:only-one-part').catch((caught: unknown) => caught);

    expect(isTopiqError(error, 'E_INVALID_OPTION')).toBe(true);
  });
});

describe('parsePasswordHash', () => {
  it.each(['scrypt:', 'scrypt::', 'scrypt:abc:', 'scrypt:a:b:c', 'scrypt:a b:c'])('rejects %j', (stored) => {
    expect(() => parsePasswordHash(stored)).toThrow(/hashPassword/);
  });
});
