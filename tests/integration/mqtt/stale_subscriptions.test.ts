/**
 * The filters of an earlier run of the app's client id, on Mosquitto: unsubscribed once this
 * run's are in place, also when the store of them is away at start (it is tried again), and
 * kept with this run's until they are gone, so none is forgotten.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqttConfig from '../../../config/mqtt.js';
import { createLogger } from '../../../core/logger.js';
import { MqttGateway } from '../../../core/messaging/mqtt_gateway.js';
import { StateTooLargeError } from '../../../core/errors.js';
import { MemoryStateStore } from '../../../core/messaging/state_store.js';
import {
  type SubscriptionMemory,
  stateSubscriptionMemory,
} from '../../../core/messaging/subscription_memory.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { discardSession } from '../../support/mqtt_sessions.js';
import { mosquittoUrl, publisher, sleep, uniqueNames, waitFor } from './mqtt_test_support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('subscriptions of an earlier run', () => {
  it("are unsubscribed once the store answers, and kept in it with this run's until then", async () => {
    const { prefix, clientId } = uniqueNames('stale');
    const settings = mqttConfig.read({ MQTT_URL: mosquittoUrl, MQTT_CLIENT_ID: clientId });
    const log = createLogger({ level: 'silent' });
    const kept = stateSubscriptionMemory(new MemoryStateStore(), clientId);
    cleanups.push(() => discardSession(mosquittoUrl, clientId, 5));
    const received: string[] = [];
    const gateway = (filter: string, memory: SubscriptionMemory) => {
      const built = new MqttGateway({
        settings,
        subscriptions: [{ filter, qos: 1 }],
        log,
        subscriptionMemory: memory,
      });
      cleanups.push(() => built.stop());
      return built;
    };
    const earlier = gateway(`${prefix}/old/+`, kept);
    await earlier.start(async (message) => void received.push(message.topic));
    await earlier.tidied;
    await earlier.stop();

    // the store is away for this run's first two looks
    let refusals = 2;
    const writes: string[][] = [];
    const flaky: SubscriptionMemory = {
      read: async () => {
        if (refusals-- > 0) throw new Error('store unavailable');
        return kept.read();
      },
      write: async (filters) => {
        writes.push([...filters]);
        await kept.write(filters);
      },
    };
    const later = gateway(`${prefix}/new/+`, flaky);
    await later.start(async (message) => void received.push(message.topic));
    await later.tidied;
    expect(writes).toEqual([[`${prefix}/old/+`, `${prefix}/new/+`], [`${prefix}/new/+`]]);

    const client = await publisher(mosquittoUrl, 5);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(`${prefix}/old/x`, 'old', { qos: 1 });
    await client.publishAsync(`${prefix}/new/x`, 'new', { qos: 1 });
    await waitFor(() => received.includes(`${prefix}/new/x`));
    await sleep(200);
    expect(received).toEqual([`${prefix}/new/x`]);
  });

  it('gives up at once, saying why, when the filters are too many to keep in the state store', async () => {
    const { prefix, clientId } = uniqueNames('unkept');
    const settings = mqttConfig.read({ MQTT_URL: mosquittoUrl, MQTT_CLIENT_ID: clientId });
    const log = capturingLogger('warn');
    cleanups.push(() => discardSession(mosquittoUrl, clientId, 5));
    let writes = 0;
    const full: SubscriptionMemory = {
      read: async () => [],
      write: async () => {
        writes++;
        throw new StateTooLargeError('state entry topiq.mqtt/subscriptions.x would hold ...');
      },
    };
    const gateway = new MqttGateway({
      settings,
      subscriptions: [{ filter: `${prefix}/+`, qos: 1 }],
      log: log.logger,
      subscriptionMemory: full,
    });
    cleanups.push(() => gateway.stop());
    await gateway.start(async () => {});
    await gateway.tidied;
    await sleep(300); // a retry would have come by now (0.1-0.2 s)
    expect(writes).toBe(1);
    expect(log.events('mqtt.subscriptions_untidy')).toEqual([]);
    expect(log.events('mqtt.subscriptions_unkept')).toHaveLength(1);
  });
});
