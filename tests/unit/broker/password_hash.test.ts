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

  it('accepts what hashPassword makes', async () => {
    const { salt, hash } = parsePasswordHash(await hashPassword('s3cret'));

    expect([salt.length, hash.length]).toEqual([16, 32]);
  });
});

describe('a hash cut short or padded', () => {
  const salt = Buffer.alloc(16, 7).toString('base64url');
  const hash = Buffer.alloc(32, 9).toString('base64url');
  const cases: [string, string][] = [
    ['a one-character hash (no bytes)', `scrypt:${salt}:A`],
    ['a one-character salt and hash', 'scrypt:A:A'],
    ['a 1-byte hash', `scrypt:${salt}:AA`],
    ['a 31-byte hash', `scrypt:${salt}:${hash.slice(0, 41)}`],
    ['a 33-byte hash', `scrypt:${salt}:${Buffer.alloc(33, 9).toString('base64url')}`],
    ['a 15-byte salt', `scrypt:${Buffer.alloc(15, 7).toString('base64url')}:${hash}`],
    ['a hash whose last character carries stray bits', `scrypt:${salt}:${hash.slice(0, -1)}F`],
  ];

  it.each(cases)('is refused at parse time: %s', (_label, stored) => {
    expect(() => parsePasswordHash(stored)).toThrow(/hashPassword/);
  });

  it.each(cases)('never verifies a password: %s', async (_label, stored) => {
    const outcome = await verifyPassword('anything', stored).catch((error: unknown) => error);

    expect(isTopiqError(outcome, 'E_INVALID_OPTION')).toBe(true);
  });
});
