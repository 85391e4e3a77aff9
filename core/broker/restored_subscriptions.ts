/**
 * Removes from a resumed persistent session the stored subscriptions its client is refused.
 *
 * When a client resumes a persistent session (clean session off), aedes 1.2 reads the session's
 * subscriptions from its persistence and asks `authorizeSubscribe` about each again (`restoreSubs`
 * in `lib/handlers/connect.js`). A refused one is not subscribed live, but aedes leaves it in the
 * persistence, where `subscriptionsByTopic` still finds it for every publish (`enqueueOffline` in
 * `aedes.js`): the messages would be queued for the client id, never sent while it is connected,
 * and held against its queue limit (`outgoing_queue_limit.ts`) until that fills and the client's
 * own messages are dropped. It happens when a device resumes another account's session after a
 * restart (see `delivery_acl.ts`), or a session holding more subscriptions than a lowered
 * `MQTT_BROKER_MAX_SUBSCRIPTIONS` allows. A live SUBSCRIBE is left alone: aedes answers a refusal
 * with 128 and `storeGrantedSubscriptionsOnly` stores nothing for it.
 */
import type { Aedes, Client } from 'aedes';
import type { Logger } from '../logger.js';
import type { AccessControl } from './access_control.js';
import { principalLogFields } from './principal.js';

/** The part of an aedes persistence that keeps the subscriptions of persistent sessions. */
export interface RestoredSubscriptionStore {
  /** What aedes restores a resumed session from (called only for one, clean session off). */
  subscriptionsByClient(client: { id: string }): Promise<{ topic: string }[]>;
  removeSubscriptions(client: Client, topics: string[]): Promise<unknown>;
}

/** The answers awaited for the subscriptions of one restore, and the filters refused so far. */
interface Restore {
  unanswered: number;
  readonly refused: { readonly topic: string; readonly answer: () => void }[];
}

/**
 * Wraps `aedes.authorizeSubscribe` and `store.subscriptionsByClient` so that the filters of a
 * restore the hook refuses are removed from `store` in one call once the restore's last filter
 * is answered, before aedes goes on with the connection, and logged in one warning (client id,
 * device id, `filters`). Should the removal fail, it is logged as an error and the session goes
 * on with them stored.
 */
export function removeRefusedRestores(
  aedes: Aedes,
  store: RestoredSubscriptionStore,
  access: Pick<AccessControl, 'principalOf'>,
  logger: Logger,
): void {
  /** The restore each subscription object read back for a resumed session belongs to. */
  const restores = new WeakMap<object, Restore>();
  const subscriptionsByClient = store.subscriptionsByClient.bind(store);
  store.subscriptionsByClient = async (client) => {
    const subscriptions = await subscriptionsByClient(client);
    const restore: Restore = { unanswered: subscriptions.length, refused: [] };
    for (const subscription of subscriptions) restores.set(subscription, restore);
    return subscriptions;
  };

  function remove(client: Client, refused: Restore['refused']): void {
    const fields = {
      clientId: client.id,
      ...principalLogFields(access.principalOf(client)),
      filters: refused.map(({ topic }) => topic),
    };
    store
      .removeSubscriptions(client, fields.filters)
      .then(
        () =>
          logger.warn(
            { event: 'broker.restored_subscriptions_removed', ...fields },
            "mqtt resumed session's stored subscriptions removed: refused to the client that resumed it",
          ),
        (error: unknown) =>
          logger.error(
            { event: 'broker.restored_subscriptions_kept', ...fields, err: error },
            "mqtt resumed session's refused subscriptions could not be removed: messages on them are queued for it",
          ),
      )
      .finally(() => {
        for (const { answer } of refused) answer();
      });
  }

  const authorize = aedes.authorizeSubscribe;
  aedes.authorizeSubscribe = (client, subscription, callback) => {
    const restore = restores.get(subscription);
    if (restore === undefined) {
      authorize(client, subscription, callback);
      return;
    }
    restores.delete(subscription);
    authorize(client, subscription, (error, granted) => {
      restore.unanswered--;
      // the hook refuses with no error and no subscription (aedes's SUBACK 128)
      if (!error && !granted) {
        restore.refused.push({ topic: subscription.topic, answer: () => callback(null, null) });
      } else {
        callback(error, granted);
      }
      if (restore.unanswered === 0 && restore.refused.length > 0) remove(client, restore.refused);
    });
  };
}
