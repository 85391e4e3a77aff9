import { EventEmitter } from 'node:events';
import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { createAccessControl } from '../../../core/broker/access_control.js';
import { MAX_LOGINS_IN_FLIGHT } from '../../../core/broker/credential_check.js';
import { defaultDeviceAcl } from '../../../core/broker/topic_acl.js';
import type { DeviceCredentials } from '../../../core/broker/principal.js';
import { createLogger } from '../../../core/logger.js';

/** A client as the authenticate hook reads it: an id and a connection that may have closed. */
function client(id: string, destroyed = false): Client {
  return { id, conn: Object.assign(new EventEmitter(), { destroyed }) } as unknown as Client;
}

/** Runs the authenticate hook; resolves to the CONNACK return code it asks for (0: accepted). */
function connack(
  hooks: ReturnType<typeof createAccessControl>['hooks'],
  who: Client,
  username = 'someone',
): Promise<number> {
  return new Promise((resolve) => {
    hooks.authenticate(who, username, Buffer.from('pw'), (error, accepted) => {
      resolve(error ? ((error as { returnCode?: number }).returnCode ?? -1) : accepted ? 0 : -1);
    });
  });
}

function accessControl(credentials: DeviceCredentials, loginTimeoutMs?: number) {
  return createAccessControl({
    credentials,
    allowAnonymous: false,
    acl: defaultDeviceAcl,
    beforeAck: undefined,
    logger: createLogger({ level: 'silent' }),
    ...(loginTimeoutMs === undefined ? {} : { loginTimeoutMs }),
  });
}

describe('createAccessControl logins', () => {
  it('refuses a login whose check does not answer in time (CONNACK 3), giving its place back', async () => {
    let hung = 0;
    const credentials: DeviceCredentials = {
      verify: (username) => {
        if (username === 'hung') {
          hung++;
          return new Promise(() => {}); // a store that stopped answering
        }
        return Promise.resolve({ kind: 'service', name: username });
      },
    };
    const { hooks } = accessControl(credentials, 50);

    const codes = await Promise.all(
      Array.from({ length: MAX_LOGINS_IN_FLIGHT }, (_, i) => connack(hooks, client(`hung-${i}`), 'hung')),
    );

    expect(hung).toBe(MAX_LOGINS_IN_FLIGHT);
    expect(new Set(codes)).toEqual(new Set([3]));
    // every place was given back: the store answers again, and so do logins
    expect(await connack(hooks, client('after'), 'fine')).toBe(0);
  });

  it('does not check the credentials of a client that hung up after its CONNECT', async () => {
    let checked = 0;
    const credentials: DeviceCredentials = {
      verify: async (username) => {
        checked++;
        return { kind: 'service', name: username };
      },
    };
    const { hooks } = accessControl(credentials);

    expect(await connack(hooks, client('gone', true))).toBe(5);
    expect(checked).toBe(0);
  });
});
