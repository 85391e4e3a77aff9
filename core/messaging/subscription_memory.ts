/**
 * The topic filters the app's MQTT client subscribed in its last run. An external broker keeps
 * a persistent session's subscriptions across runs, and a run subscribes only what its routes
 * ask for, so a filter of an earlier run stayed: a removed route's messages kept arriving, and a
 * route made `shared: true` (or a new `MQTT_SHARED_GROUP`, or `MQTT_SHARED_SUBSCRIPTIONS`
 * turned off) was delivered once per filter, each message handled twice. Kept in the state
 * store (Redis with the Redis driver) by client id, so the next run unsubscribes the filters it
 * no longer wants.
 */
import type { StateStore } from './state_store.js';

/** Where the filters of the last run are kept. */
export interface SubscriptionMemory {
  /** The filters of the last run, or undefined when none were kept. */
  read(): Promise<string[] | undefined>;
  write(filters: readonly string[]): Promise<void>;
}

/** The state store namespace Topiq keeps its own MQTT entries in. */
export const MQTT_STATE_NAMESPACE = 'topiq.mqtt';

/**
 * Keeps the filters of client `clientId` in `state`, under {@link MQTT_STATE_NAMESPACE}.
 *
 * @example
 * const memory = stateSubscriptionMemory(app.state, 'topiq-app');
 * await memory.write(['$share/topiq/devices/+/telemetry']);
 */
export function stateSubscriptionMemory(state: StateStore, clientId: string): SubscriptionMemory {
  const id = `subscriptions.${clientId}`;
  return {
    async read() {
      const filters = (await state.get(MQTT_STATE_NAMESPACE, id))?.filters;
      return Array.isArray(filters) ? filters.filter((filter) => typeof filter === 'string') : undefined;
    },
    async write(filters) {
      await state.merge(MQTT_STATE_NAMESPACE, id, { filters: [...filters] });
    },
  };
}
