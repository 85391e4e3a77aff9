/**
 * Password hashing for MQTT credentials. Stored passwords are either plaintext (handy
 * in development) or `scrypt:<salt>:<hash>` (salt and hash in base64url). Comparisons
 * always go through `timingSafeEqual` on fixed-length digests, so the time a check
 * takes does not tell an attacker how much of a guess was right.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';

const SCHEME = 'scrypt';
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Node's scrypt defaults (N=16384, r=8, p=1): about 16 MiB and tens of milliseconds. */
const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1 } as const;

interface ParsedHash {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function deriveKey(password: string, salt: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, SCRYPT_PARAMS, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** True when `stored` is in the `scrypt:<salt>:<hash>` form rather than plaintext. */
export function isPasswordHash(stored: string): boolean {
  return stored.startsWith(`${SCHEME}:`);
}

/**
 * Splits a `scrypt:<salt>:<hash>` string, throwing `InvalidOptionError` when it is
 * malformed (so a typo in configuration fails at startup, not at the first login): parts
 * that are not canonical base64url, a salt under 16 bytes or a hash other than 32 bytes (what
 * {@link hashPassword} makes). A cut hash must not pass: a hash part of one character decodes
 * to no bytes, and a check of zero bytes would accept any password.
 */
export function parsePasswordHash(stored: string): ParsedHash {
  const parts = stored.split(':');
  const [scheme, saltText, hashText] = parts;
  if (parts.length !== 3 || scheme !== SCHEME || !isBase64url(saltText) || !isBase64url(hashText)) {
    throw new InvalidOptionError(
      'A password hash must look like scrypt:<salt>:<hash> (base64url parts); create one with hashPassword().',
    );
  }
  const salt = Buffer.from(saltText, 'base64url');
  const hash = Buffer.from(hashText, 'base64url');
  if (salt.length < SALT_BYTES || hash.length !== KEY_BYTES) {
    throw new InvalidOptionError(
      `A password hash must hold a salt of at least ${SALT_BYTES} bytes and a hash of ${KEY_BYTES} bytes; ` +
        `this one holds ${salt.length} and ${hash.length} (cut short when copied?). Create one with hashPassword().`,
    );
  }
  return { salt, hash };
}

/** Non-empty base64url text that decodes and encodes back to itself (no stray padding bits). */
function isBase64url(text: string | undefined): text is string {
  return (
    text !== undefined &&
    /^[A-Za-z0-9_-]+$/.test(text) &&
    Buffer.from(text, 'base64url').toString('base64url') === text
  );
}

/**
 * Hashes a password for storage in credentials configuration.
 *
 * @example
 * const stored = await hashPassword('s3cret'); // 'scrypt:q1w2...:e3r4...'
 * staticCredentials([{ username: 'sensor-1', password: stored, deviceId: 'sensor-1' }]);
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(password, salt, KEY_BYTES);
  return `${SCHEME}:${salt.toString('base64url')}:${hash.toString('base64url')}`;
}

/**
 * Checks `password` against a stored password, plaintext or `scrypt:` hash, in time
 * that does not depend on where the two differ.
 *
 * @example
 * if (await verifyPassword(given, row.passwordHash)) grantAccess();
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!isPasswordHash(stored)) return timingSafeEqual(sha256(password), sha256(stored));
  const { salt, hash } = parsePasswordHash(stored);
  const candidate = await deriveKey(password, salt, hash.length);
  return timingSafeEqual(candidate, hash);
}
