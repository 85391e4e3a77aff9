/** The filters of the last run, kept in the state store by client id. */
import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../../core/messaging/state_store.js';
import {
  MQTT_STATE_NAMESPACE,
  stateSubscriptionMemory,
} from '../../../core/messaging/subscription_memory.js';

describe('stateSubscriptionMemory', () => {
  it('keeps the filters of each client id apart, and replaces them on each write', async () => {
    const state = new MemoryStateStore();
    const app = stateSubscriptionMemory(state, 'topiq-app');
    const other = stateSubscriptionMemory(state, 'topiq-app-2');
    expect(await app.read()).toBeUndefined();
    await app.write(['devices/+/telemetry', 'devices/+/status']);
    await app.write(['$share/topiq/devices/+/telemetry']);
    expect(await app.read()).toEqual(['$share/topiq/devices/+/telemetry']);
    expect(await other.read()).toBeUndefined();
  });

  it('reads a damaged entry as what it holds of filters, or as none', async () => {
    const state = new MemoryStateStore();
    const memory = stateSubscriptionMemory(state, 'topiq-app');
    await state.merge(MQTT_STATE_NAMESPACE, 'subscriptions.topiq-app', { filters: ['a/#', 7, null] });
    expect(await memory.read()).toEqual(['a/#']);
    await state.merge(MQTT_STATE_NAMESPACE, 'subscriptions.topiq-app', { filters: 'a/#' });
    expect(await memory.read()).toBeUndefined();
  });
});
