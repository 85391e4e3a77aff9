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
