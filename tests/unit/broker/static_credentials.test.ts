import { describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { hashPassword } from '../../../core/broker/password_hash.js';
import { isValidDeviceId } from '../../../core/broker/principal.js';
import { staticCredentials } from '../../../core/broker/static_credentials.js';

describe('staticCredentials.verify', () => {
  it('returns the device principal for a device account with a hashed password', async () => {
    const credentials = staticCredentials([
      { username: 'sensor-1', password: await hashPassword('pw'), deviceId: 'sensor-1' },
    ]);

    expect(await credentials.verify('sensor-1', 'pw')).toEqual({ kind: 'device', deviceId: 'sensor-1' });
  });

  it('returns a service principal named after the username when there is no device id', async () => {
    const credentials = staticCredentials([{ username: 'topiq-app', password: 'pw' }]);

    expect(await credentials.verify('topiq-app', 'pw')).toEqual({ kind: 'service', name: 'topiq-app' });
  });

  it('returns null for a wrong password or an unknown username', async () => {
    const credentials = staticCredentials([
      { username: 'sensor-1', password: await hashPassword('pw'), deviceId: 'sensor-1' },
    ]);

    expect(await credentials.verify('sensor-1', 'nope')).toBeNull();
    expect(await credentials.verify('sensor-2', 'pw')).toBeNull();
  });
});

describe('staticCredentials timing', () => {
  /** Median wall time of five checks, in ms. */
  async function medianCheckMs(check: () => Promise<unknown>): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await check();
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[2]!;
  }

  it('makes a plaintext account as slow to check as an unknown username when other accounts are hashed', async () => {
    const credentials = staticCredentials([
      { username: 'plain-dev', password: 'pw', deviceId: 'plain-dev' },
      { username: 'hashed-dev', password: await hashPassword('pw'), deviceId: 'hashed-dev' },
    ]);
    await credentials.verify('nobody', 'x'); // makes the decoy

    const unknown = await medianCheckMs(() => credentials.verify('nobody', 'x'));
    const plaintext = await medianCheckMs(() => credentials.verify('plain-dev', 'x'));

    // one scrypt each (tens of ms) against a SHA-256 (tens of µs) before: far apart either way
    expect(plaintext).toBeGreaterThan(unknown / 3);
    expect(await credentials.verify('plain-dev', 'pw')).toEqual({ kind: 'device', deviceId: 'plain-dev' });
  });
});

describe('staticCredentials', () => {
  it.each([
    [[{ username: '', password: 'pw' }]],
    [
      [
        { username: 'a', password: 'pw' },
        { username: 'a', password: 'pw2' },
      ],
    ],
    [[{ username: 'a', password: 'scrypt:broken' }]],
    [[{ username: 'a', password: 'scrypt:A:A' }]],
    [[{ username: 'a', password: '' }]],
    [[{ username: 'a', password: '', deviceId: 'a' }]],
    [[{ username: 'a', password: 'pw', deviceId: 'a/b' }]],
    [[{ username: 'a', password: 'pw', deviceId: '+' }]],
    [[{ username: 'a', password: 'pw', deviceId: 'a#' }]],
    [[{ username: 'a', password: 'pw', deviceId: 'a\u0000' }]],
  ])('throws InvalidOptionError for the account list %j', (list) => {
    let thrown: unknown;
    try {
      staticCredentials(list);
    } catch (error) {
      thrown = error;
    }

    expect(isTopiqError(thrown, 'E_INVALID_OPTION')).toBe(true);
  });
});

describe('isValidDeviceId', () => {
  it('accepts ordinary ids and refuses ids that would change a topic filter', () => {
    expect(['sensor-1', 'a.b', 'A_1', 'dev:42'].every(isValidDeviceId)).toBe(true);
    expect(['', 'a/b', 'a+', '#', 'a\u0000', '$SYS'].some(isValidDeviceId)).toBe(false);
  });
});
