/**
 * Bounds what one device may have the embedded broker keep for its sessions. aedes keeps a
 * session per client id in memory (its subscriptions; for a persistent session, clean session
 * off, also after the client goes), and a device may connect under any client id no other
 * account holds. Without a bound, one device could leave sessions under fresh client ids, each
 * with any number of subscriptions, until the app ran out of memory (the queue limit bounds
 * only the messages held for them). So a device may hold at most `maxClientIds` client ids at
 * once, connected or kept by a persistent session, and each at most `maxSubscriptions`
 * subscriptions. Services (the app, dashboards) are not counted.
 *
 * A device at its limit frees a client id by connecting under it with clean session on and
 * disconnecting, which ends the session aedes kept for it.
 */

/** The defaults of {@link SessionLimits}. */
export const DEFAULT_SESSION_LIMITS = { maxClientIds: 10, maxSubscriptions: 100 } as const;

export interface SessionLimits {
  /** Client ids one device may hold at once (at least 1): connected, or kept by a persistent session. */
  readonly maxClientIds: number;
  /** Subscriptions each client id of a device may hold (0: none). */
  readonly maxSubscriptions: number;
}

/** The subscription filters each device client id holds, bounded per client id. */
export class SubscriptionBudget {
  readonly #max: number;
  readonly #held = new Map<string, Set<string>>();

  constructor(maxSubscriptions: number) {
    this.#max = maxSubscriptions;
  }

  /**
   * Counts `filter` for `clientId`, unless that would pass the limit: false then. A filter the
   * client id already holds is a replacement (another QoS), which takes no more room.
   */
  subscribe(clientId: string, filter: string): boolean {
    let held = this.#held.get(clientId);
    if (held?.has(filter)) return true;
    if ((held?.size ?? 0) >= this.#max) return false;
    if (held === undefined) {
      held = new Set();
      this.#held.set(clientId, held);
    }
    held.add(filter);
    return true;
  }

  /** Frees the places of `filters`, which `clientId` unsubscribed. */
  unsubscribe(clientId: string, filters: readonly string[]): void {
    const held = this.#held.get(clientId);
    if (held === undefined) return;
    for (const filter of filters) held.delete(filter);
    if (held.size === 0) this.#held.delete(clientId);
  }

  /** Forgets every subscription of `clientId`, whose session ended (or began clean). */
  clear(clientId: string): void {
    this.#held.delete(clientId);
  }

  /** Subscriptions `clientId` holds. */
  count(clientId: string): number {
    return this.#held.get(clientId)?.size ?? 0;
  }
}
