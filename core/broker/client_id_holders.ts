/**
 * The account that holds each client id of the embedded broker. A client id names a session:
 * its subscriptions and the messages queued for it while offline, and aedes closes the
 * connection already using an id when another connects with it. So an id is held by the first
 * account to use it until that account's clean connection ends: a device connecting with
 * another account's id would take over its session (and its queued commands) or knock it off.
 * A device holds at most `maxClientIds` ids at once (`MQTT_BROKER_MAX_SESSIONS`).
 */
import type { AuthenticateError, AuthErrorCode, Client } from 'aedes';
import { IDENTIFIER_REJECTED, NOT_AUTHORIZED } from './connack_codes.js';
import type { Principal } from './principal.js';

/**
 * Which client ids a device may connect with. `any`: any id no other account holds (the first
 * account to use an id holds it). `device-id`: only its own device id, so no device can take,
 * or hold first, an id that is another device's.
 */
export type DeviceClientIds = 'any' | 'device-id';

interface Holder {
  readonly account: string;
  /** The accepted connections using the id now. */
  readonly connections: Set<Client>;
  /** Whether the latest accepted connection asked for a persistent session. */
  persistent: boolean;
}

/** What {@link ClientIdHolders} needs of its broker. */
export interface ClientIdHolderSettings {
  readonly maxClientIds: number;
  readonly deviceClientIds: DeviceClientIds;
  /** Builds the refusal of a CONNECT (logged by the caller). */
  readonly refuse: (returnCode: AuthErrorCode, reason: string) => AuthenticateError;
  /** An id's session ended (its subscriptions are gone with it). */
  readonly sessionEnded: (clientId: string) => void;
}

/** The account name of `principal`, as ids are held by: `device:<id>` or `service:<name>`. */
export function accountOf(principal: Principal): string {
  return principal.kind === 'device' ? `device:${principal.deviceId}` : `service:${principal.name}`;
}

export class ClientIdHolders {
  readonly #settings: ClientIdHolderSettings;
  readonly #holders = new Map<string, Holder>();
  /** How many client ids each device account holds. */
  readonly #heldIds = new Map<string, number>();

  constructor(settings: ClientIdHolderSettings) {
    this.#settings = settings;
  }

  /** The account holding `clientId`, if any. */
  accountOf(clientId: string): string | undefined {
    return this.#holders.get(clientId)?.account;
  }

  /**
   * Gives `client`'s id to `principal`'s account, or throws the refusal: another account holds
   * it, the device is past its ids, the id is not the device's own where only that is taken,
   * or the connection closed meanwhile. The connection's end gives the id back (see `released`).
   */
  claim(client: Client, principal: Principal): void {
    const { deviceClientIds, maxClientIds, refuse } = this.#settings;
    if (deviceClientIds === 'device-id' && principal.kind === 'device' && client.id !== principal.deviceId) {
      throw refuse(
        IDENTIFIER_REJECTED,
        `client id ${JSON.stringify(client.id)} is not the device's id; this broker takes only a device's own id as its client id (MQTT_BROKER_CLIENT_IDS=device-id): connect with client id ${JSON.stringify(principal.deviceId)}`,
      );
    }
    const account = accountOf(principal);
    const holder = this.#holders.get(client.id);
    if (holder !== undefined && holder.account !== account) {
      throw refuse(
        NOT_AUTHORIZED,
        `client id ${JSON.stringify(client.id)} is held by another account's session; connect with a client id of your own (the device id, say)`,
      );
    }
    if (client.conn.destroyed) {
      throw refuse(NOT_AUTHORIZED, 'the connection closed while its credentials were checked');
    }
    if (
      holder === undefined &&
      principal.kind === 'device' &&
      (this.#heldIds.get(account) ?? 0) >= maxClientIds
    ) {
      const ids = [...this.#holders].filter(([, held]) => held.account === account).map(([id]) => id);
      throw refuse(
        NOT_AUTHORIZED,
        `the device holds ${ids.length} client ids (${ids.map((id) => JSON.stringify(id)).join(', ')}), its limit ` +
          '(MQTT_BROKER_MAX_SESSIONS): connect under one of them, or end a session it left by connecting under its id ' +
          'with clean session on and disconnecting',
      );
    }
    if (holder) holder.connections.add(client);
    else {
      this.#holders.set(client.id, { account, connections: new Set([client]), persistent: false });
      this.#heldIds.set(account, (this.#heldIds.get(account) ?? 0) + 1);
    }
    // A connection that ends before aedes accepts it (closed during the password check, or
    // refused later) never gets a clientDisconnect: its end frees the id all the same, or an
    // account could hold any client id for good by connecting with it and hanging up.
    client.conn.once('close', () => this.released(client));
  }

  /** aedes accepted `client`: a clean connection ends the session its id had. */
  established(client: Client): void {
    const holder = this.#holders.get(client.id);
    // only the latest accepted connection counts
    if (holder?.connections.has(client)) {
      holder.persistent = !client.clean;
      if (client.clean) this.#settings.sessionEnded(client.id); // aedes dropped the old session's
    }
  }

  /** `client`'s connection ended: its id is given back, unless a persistent session keeps it. */
  released(client: Client): void {
    const holder = this.#holders.get(client.id);
    if (!holder?.connections.delete(client)) return;
    // a persistent session stays its account's; so does an id another connection of it uses
    if (holder.connections.size > 0 || holder.persistent) return;
    this.#holders.delete(client.id);
    this.#settings.sessionEnded(client.id);
    const held = (this.#heldIds.get(holder.account) ?? 1) - 1;
    if (held > 0) this.#heldIds.set(holder.account, held);
    else this.#heldIds.delete(holder.account);
  }
}
