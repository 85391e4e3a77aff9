/**
 * Which account holds each client id of the embedded broker: the first to use it, until its
 * clean connection ends; a device's ids bounded; only its own id where the broker says so.
 */
import { EventEmitter } from 'node:events';
import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { ClientIdHolders, type DeviceClientIds } from '../../../core/broker/client_id_holders.js';
import type { Principal } from '../../../core/broker/principal.js';

/** A client as the holders see it: an id, clean session or not, a connection that can close. */
function client(id: string, clean = true): Client & { close(): void } {
  const conn = Object.assign(new EventEmitter(), { destroyed: false });
  return Object.assign({ id, clean, conn }, { close: () => conn.emit('close') }) as never;
}

const device = (deviceId: string): Principal => ({ kind: 'device', deviceId }) as Principal;
const service = (name: string): Principal => ({ kind: 'service', name }) as Principal;

function holders(deviceClientIds: DeviceClientIds = 'any', maxClientIds = 2) {
  const ended: string[] = [];
  const refusal = (returnCode: number, reason: string) => Object.assign(new Error(reason), { returnCode });
  const held = new ClientIdHolders({
    maxClientIds,
    deviceClientIds,
    refuse: refusal as never,
    sessionEnded: (clientId) => ended.push(clientId),
  });
  return { held, ended };
}

describe('ClientIdHolders', () => {
  it("refuses another account's id until its clean connection ends", () => {
    const { held, ended } = holders();
    const first = client('shared');
    held.claim(first, device('d1'));
    expect(held.accountOf('shared')).toBe('device:d1');
    expect(() => held.claim(client('shared'), device('d2'))).toThrow(/held by another account's session/);
    first.close();
    expect(ended).toEqual(['shared']);
    expect(() => held.claim(client('shared'), device('d2'))).not.toThrow();
  });

  it('keeps the id of a persistent session its account left, and ends a session at a clean connection', () => {
    const { held, ended } = holders();
    const persistent = client('p', false);
    held.claim(persistent, device('d1'));
    held.established(persistent);
    persistent.close();
    expect(held.accountOf('p')).toBe('device:d1');
    const clean = client('p', true);
    held.claim(clean, device('d1'));
    held.established(clean);
    expect(ended).toEqual(['p']);
  });

  it("bounds a device's ids, not a service account's, and names the ids it holds", () => {
    const { held } = holders('any', 2);
    held.claim(client('a'), device('d1'));
    held.claim(client('b'), device('d1'));
    expect(() => held.claim(client('c'), device('d1'))).toThrow(/the device holds 2 client ids \("a", "b"\)/);
    held.claim(client('a'), device('d1')); // one it holds: taken
    for (const id of ['s1', 's2', 's3']) held.claim(client(id), service('dash'));
  });

  it("takes only a device's own id where the broker says so, and no connection that closed meanwhile", () => {
    const { held } = holders('device-id');
    expect(() => held.claim(client('other'), device('d1'))).toThrow(/connect with client id "d1"/);
    const gone = client('d1');
    (gone.conn as { destroyed: boolean }).destroyed = true;
    expect(() => held.claim(gone, device('d1'))).toThrow(/closed while its credentials were checked/);
    expect(held.accountOf('d1')).toBeUndefined();
  });
});
