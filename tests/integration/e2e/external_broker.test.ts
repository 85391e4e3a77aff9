/**
 * End to end with an external broker: the app subscribes with its fixed client id and
 * persistent session, to Mosquitto (MQTT 5, shared subscriptions) or to a bare aedes
 * (MQTT 3.1.1) that the test can stop and start again.
 */
import type { Aedes, Client, Subscription } from 'aedes';
import { describe, expect, it } from 'vitest';
import { Job } from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import { sleep } from '../../support/queue_names.js';
import {
  type E2eFixture,
  MOSQUITTO_URL,
  publishJson,
  until,
  useE2eFixture,
} from '../../support/e2e_fixture.js';
import { startAedes, type TestBroker } from '../mqtt/mqtt_test_support.js';

const setup = useE2eFixture();

/** Resolves when `clientId` subscribes to `filter` on `broker`; rejects after `timeoutMs`. */
function subscribed(broker: Aedes, clientId: string, filter: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      broker.off('subscribe', onSubscribe);
      reject(new Error(`${clientId} did not subscribe to ${filter} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onSubscribe = (subscriptions: Subscription[], client: Client) => {
      if (client.id !== clientId || !subscriptions.some((entry) => entry.topic === filter)) return;
      clearTimeout(timer);
      broker.off('subscribe', onSubscribe);
      resolve();
    };
    broker.on('subscribe', onSubscribe);
  });
}

/**
 * Publishes `count` commands to dispatch a held SendEmailJob on the test's command topic, as a
 * service would; resolves to the count of pending emails before them.
 */
async function sendHeldCommands(fixture: E2eFixture, count: number): Promise<number> {
  const { device, driver, id } = fixture;
  const service = await device(MOSQUITTO_URL, { protocolVersion: 5 });
  const command = JSON.stringify({
    payload: { to: 'ops@example.com', subject: `hi ${id}`, body: 'x' },
    options: { hold: true },
  });
  const before = (await driver.counts('emails')).pending;
  for (let i = 0; i < count; i++)
    await service.publishAsync(`e2e-${id}/commands/jobs/SendEmailJob`, command, { qos: 1 });
  return before;
}

describe('an app on Mosquitto', () => {
  it("receives a device's telemetry through the route's shared subscription, stores the job and runs it", async () => {
    const { externalServer, device, jobs, id } = setup();
    const deviceId = `dev-${id}`;
    await externalServer({
      url: MOSQUITTO_URL,
      clientId: `e2e-app-${id}`,
      protocolVersion: 5,
      env: { MQTT_SHARED_GROUP: `e2e-${id}` },
      workers: { queues: 'telemetry', concurrency: 2 },
    });
    const sensor = await device(MOSQUITTO_URL, { protocolVersion: 5 });
    await publishJson(sensor, `devices/${deviceId}/telemetry`, { temperature: 24.5 });

    await until('the job is stored and run', async () => {
      const [job] = await jobs('telemetry', deviceId);
      return job?.status === 'completed';
    });
    const stored = await jobs('telemetry', deviceId);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      name: 'ProcessSensorDataJob',
      status: 'completed',
      payload: { deviceId, temperature: 24.5 },
      result: { alerted: false },
    });
  });

  it('shares the telemetry subscription between two apps of one group, so each message is stored once', async () => {
    const { externalServer, device, jobs, id } = setup();
    const deviceId = `dev-${id}`;
    const options = {
      url: MOSQUITTO_URL,
      protocolVersion: 5 as const,
      env: { MQTT_SHARED_GROUP: `e2e-${id}` },
    };
    const first = await externalServer({ ...options, clientId: `e2e-app-a-${id}` });
    const second = await externalServer({ ...options, clientId: `e2e-app-b-${id}` });
    const sensor = await device(MOSQUITTO_URL, { protocolVersion: 5 });
    const count = 10;
    for (let i = 0; i < count; i++)
      await publishJson(sensor, `devices/${deviceId}/telemetry`, { temperature: i });

    await until('every message is stored', async () => (await jobs('telemetry', deviceId)).length >= count);
    await sleep(200); // time for a second copy of any message to arrive, were the group not shared
    const temperatures = (await jobs('telemetry', deviceId))
      .map((job) => (job.payload as { temperature: number }).temperature)
      .sort((a, b) => a - b);
    expect(temperatures).toEqual([...Array(count).keys()]);
    // Mosquitto hands each message of a shared subscription to one member of the group.
    expect(first.pipeline.stats.handled).toBeGreaterThan(0);
    expect(second.pipeline.stats.handled).toBeGreaterThan(0);
  });

  it('unsubscribes what an earlier run of its client id subscribed and no route asks for, so a message is handled once', async () => {
    const { externalServer, device, jobs, id } = setup();
    const deviceId = `dev-${id}`;
    const options = {
      url: MOSQUITTO_URL,
      clientId: `e2e-app-${id}`,
      protocolVersion: 5 as const,
      env: { MQTT_SHARED_GROUP: `e2e-${id}` },
    };
    // a run without shared subscriptions leaves devices/+/telemetry in the persistent session
    const earlier = await externalServer({ ...options, sharedSubscriptions: false });
    await earlier.gateway.tidied;
    await earlier.stop();
    const later = await externalServer(options); // subscribes $share/e2e-<id>/devices/+/telemetry instead
    await later.gateway.tidied; // in the background, after the new filters are in place
    const sensor = await device(MOSQUITTO_URL, { protocolVersion: 5 });
    await publishJson(sensor, `devices/${deviceId}/telemetry`, { temperature: 7 });

    await until('the message is stored', async () => (await jobs('telemetry', deviceId)).length >= 1);
    await sleep(300); // time for the copy the old filter would deliver
    // Mosquitto delivers an MQTT 5 client one copy per matching filter: two jobs before
    expect(await jobs('telemetry', deviceId)).toHaveLength(1);
  });

  it('answers an MQTT 5 job command on its response topic only under JOB_COMMAND_REPLY_TOPIC', async () => {
    const { externalServer, device, driver, id } = setup();
    const server = await externalServer({
      url: MOSQUITTO_URL,
      clientId: `e2e-app-${id}`,
      protocolVersion: 5,
      env: {
        MQTT_SHARED_GROUP: `e2e-${id}`,
        JOB_COMMAND_TOPIC: `e2e-${id}/commands/jobs`,
        JOB_COMMAND_REPLY_TOPIC: `e2e-${id}/replies/`,
      },
    });
    const service = await device(MOSQUITTO_URL, { protocolVersion: 5 });
    const replies: [string, unknown, string | undefined][] = [];
    service.on('message', (topic, body, packet) => {
      replies.push([topic, JSON.parse(body.toString()), packet.properties?.correlationData?.toString()]);
    });
    // the configured prefix, and a topic outside it the app could publish to with its own rights
    await service.subscribeAsync([`e2e-${id}/replies/#`, `e2e-${id}/devices/#`], { qos: 1 });
    const command = (jobId: string) =>
      JSON.stringify({
        payload: { to: 'ops@example.com', subject: 'hi', body: 'x' },
        options: { jobId, hold: true },
      });
    const asking = (responseTopic: string) => ({
      qos: 1 as const,
      properties: { responseTopic, correlationData: Buffer.from(responseTopic) },
    });
    const commandTopic = `e2e-${id}/commands/jobs/SendEmailJob`;
    await service.publishAsync(commandTopic, command('refused'), asking(`e2e-${id}/devices/sensor-1/down`));
    await service.publishAsync(commandTopic, command('answered'), asking(`e2e-${id}/replies/service`));

    await until('the reply', () => replies.length > 0);
    await sleep(200); // time for a reply to the refused command, were there one
    const answered = `e2e-${id}/replies/service`;
    expect(replies).toEqual([[answered, { id: 'answered' }, answered]]);
    expect(await driver.getJob('emails', 'answered')).toMatchObject({ status: 'pending' });
    expect(await driver.getJob('emails', 'refused')).toBeUndefined();
    const dead = await server.app.deadLetters.list(10);
    expect(dead.map((letter) => letter.code)).toEqual(['E_INVALID_MESSAGE']);
    expect(dead[0]?.reason).toMatch(
      /outside e2e-\w+\/replies\/: replies go only to topics under JOB_COMMAND_REPLY_TOPIC/,
    );
  });

  it('dispatches one job per command when two app instances take commands from one shared subscription', async () => {
    const fixture = setup();
    const { externalServer, driver, id } = fixture;
    const env = { MQTT_SHARED_GROUP: `e2e-${id}`, JOB_COMMAND_TOPIC: `e2e-${id}/commands/jobs` };
    await externalServer({ url: MOSQUITTO_URL, clientId: `e2e-app-a-${id}`, protocolVersion: 5, env });
    await externalServer({ url: MOSQUITTO_URL, clientId: `e2e-app-b-${id}`, protocolVersion: 5, env });
    // no job id: every copy of a command that reached both apps would be a job of its own
    const before = await sendHeldCommands(fixture, 4);
    await until(
      'every command is handled',
      async () => (await driver.counts('emails')).pending >= before + 4,
    );
    await sleep(300); // time for a second copy to arrive, were the subscription not shared
    expect((await driver.counts('emails')).pending).toBe(before + 4);
  });

  it('keeps its shared subscriptions as it stops, so a lone instance gets what came while it was down', async () => {
    const fixture = setup();
    const { externalServer, driver, id } = fixture;
    const env = { MQTT_SHARED_GROUP: `e2e-${id}`, JOB_COMMAND_TOPIC: `e2e-${id}/commands/jobs` };
    const options = { url: MOSQUITTO_URL, clientId: `e2e-app-${id}`, protocolVersion: 5 as const, env };
    const first = await externalServer(options);
    await first.stop();
    // sent while no instance runs: the broker queues them for the app's session
    const before = await sendHeldCommands(fixture, 4);
    await sleep(200);
    expect((await driver.counts('emails')).pending).toBe(before);
    await externalServer(options);
    await until(
      'the next run handles what came meanwhile',
      async () => (await driver.counts('emails')).pending === before + 4,
    );
  });

  it('leaves its shared subscriptions as it stops when told to, so the other instance takes every message while its workers drain', async () => {
    const fixture = setup();
    const { externalServer, driver, id } = fixture;
    const env = {
      MQTT_SHARED_GROUP: `e2e-${id}`,
      JOB_COMMAND_TOPIC: `e2e-${id}/commands/jobs`,
      MQTT_SHARED_LEAVE_ON_STOP: 'true',
    };
    const stopping = await externalServer({
      url: MOSQUITTO_URL,
      clientId: `e2e-app-a-${id}`,
      protocolVersion: 5,
      env,
      workers: { queues: 'firmware', concurrency: 1 },
    });
    await externalServer({ url: MOSQUITTO_URL, clientId: `e2e-app-b-${id}`, protocolVersion: 5, env });
    // a job that keeps the first instance's workers busy for a while after it is told to stop
    let handling = false;
    class FlashFirmwareJob extends Job<{ ms: number }> {
      static override readonly jobName = 'FlashFirmwareJob';
      static override readonly queue = 'firmware';
      async handle({ ms }: { ms: number }) {
        handling = true;
        await sleep(ms);
      }
    }
    stopping.app.registry.register(FlashFirmwareJob);
    const flashing = await stopping.app.dispatcher.dispatch(FlashFirmwareJob, { ms: 1800 });
    // its handler runs (a job reserved but not started yet, its record says running already, is
    // handed back at once by the stop)
    await until('the job runs', async () => handling);
    let stopped = false;
    const stop = stopping.stop().then(() => {
      stopped = true;
    });
    await sleep(300); // intake stopped; the worker drains

    const before = await sendHeldCommands(fixture, 4);
    await until(
      'the other instance handles them all',
      async () => (await driver.counts('emails')).pending >= before + 4,
      1500,
    );
    expect(stopped).toBe(false);
    await stop;
    expect((await driver.getJob('firmware', flashing))?.status).toBe('completed');
  });

  it('does not get a retained command again when the app subscribes again, nor dispatch it', async () => {
    const { externalServer, device, driver, defer, id } = setup();
    const topic = `e2e-${id}/commands/jobs/SendEmailJob`;
    const env = { MQTT_SHARED_GROUP: `e2e-${id}`, JOB_COMMAND_TOPIC: `e2e-${id}/commands/jobs` };
    const service = await device(MOSQUITTO_URL, { protocolVersion: 5 });
    defer(() => service.publishAsync(topic, '', { qos: 1, retain: true })); // clears the retained command
    const first = await externalServer({
      url: MOSQUITTO_URL,
      clientId: `e2e-app-${id}`,
      protocolVersion: 5,
      env,
    });
    const command = JSON.stringify({
      payload: { to: 'ops@example.com', subject: 'hi', body: 'x' },
      options: { jobId: `retained-${id}`, hold: true },
    });
    await service.publishAsync(topic, command, { qos: 1, retain: true });
    await until(
      'the live command is dispatched',
      async () => (await driver.getJob('emails', `retained-${id}`)) !== undefined,
    );
    await driver.cancel('emails', `retained-${id}`);
    await first.stop();
    // a restarted app subscribes again: Mosquitto 2.0.11 would replay the retained command to a
    // shared subscription, which the app asks it not to (MQTT 5 Retain Handling 2)
    const second = await externalServer({
      url: MOSQUITTO_URL,
      clientId: `e2e-app-${id}`,
      protocolVersion: 5,
      env,
    });
    await sleep(300); // a replay would come at once with the SUBACK
    expect(await second.app.deadLetters.list(10)).toEqual([]);
    expect((await driver.getJob('emails', `retained-${id}`))?.status).toBe('cancelled');
  });

  it('refuses to publish to a wildcard topic, which Mosquitto answers by disconnecting, and publishes on', async () => {
    const { externalServer, device, id } = setup();
    const server = await externalServer({
      url: MOSQUITTO_URL,
      clientId: `e2e-app-${id}`,
      protocolVersion: 5,
      env: { MQTT_SHARED_GROUP: `e2e-${id}` },
    });
    const listener = await device(MOSQUITTO_URL);
    const received: string[] = [];
    listener.on('message', (topic) => received.push(topic));
    await listener.subscribeAsync(`e2e-${id}/#`, { qos: 1 });
    for (const topic of [`e2e-${id}/+`, `e2e-${id}/#`, '']) {
      await expect(server.gateway.publish(topic, 'x', { qos: 1 })).rejects.toMatchObject({
        code: 'E_INVALID_TOPIC',
      });
    }
    await server.gateway.publish(`e2e-${id}/commands`, 'x', { qos: 1 });
    await until('the plain publish arrives', () => received.length > 0);
    expect(received).toEqual([`e2e-${id}/commands`]);
  });
});

describe('an app on an external aedes broker (MQTT 3.1.1)', () => {
  it('subscribes again after the broker restarts without its sessions, and stores the next message', async () => {
    const { externalServer, device, jobs, defer, id } = setup();
    const port = await freePort();
    let broker: TestBroker = await startAedes(port);
    defer(() => broker.stop());
    const clientId = `e2e-app-${id}`;
    const deviceId = `dev-${id}`;
    const statusFilter = 'devices/+/status'; // not shared: aedes knows no $share
    const firstSubscription = subscribed(broker.broker, clientId, statusFilter);
    const server = await externalServer({ url: broker.url, clientId, protocolVersion: 4 });
    await firstSubscription;

    const before = await device(broker.url);
    await publishJson(before, `devices/${deviceId}/status`, { online: true, battery: 80 });
    await until('the first status is stored', async () => {
      return (await server.app.state.get('devices', deviceId))?.battery === 80;
    });
    await before.endAsync(true);

    await broker.stop(); // aedes keeps sessions in memory: the restarted broker has none
    broker = await startAedes(port);
    await subscribed(broker.broker, clientId, statusFilter);

    const after = await device(broker.url);
    await publishJson(after, `devices/${deviceId}/status`, { online: true, battery: 9 });
    await until('the low-battery notification is stored', async () => {
      return (await jobs('notifications', deviceId)).length > 0;
    });
    expect(await jobs('notifications', deviceId)).toMatchObject([
      { name: 'SendNotificationJob', payload: { deviceId, level: 'warning', message: 'battery at 9%' } },
    ]);
    expect(server.pipeline.stats).toMatchObject({ received: 2, handled: 2 });
  });

  it('receives shared telemetry routes by their plain filter when MQTT_SHARED_SUBSCRIPTIONS is off', async () => {
    const { externalServer, device, jobs, defer, id } = setup();
    const port = await freePort();
    const broker: TestBroker = await startAedes(port);
    defer(() => broker.stop());
    const clientId = `e2e-app-${id}`;
    const deviceId = `dev-${id}`;
    const plainSubscription = subscribed(broker.broker, clientId, 'devices/+/telemetry');
    await externalServer({ url: broker.url, clientId, protocolVersion: 4, sharedSubscriptions: false });
    await plainSubscription;
    const sensor = await device(broker.url);
    await publishJson(sensor, `devices/${deviceId}/telemetry`, { temperature: 21 });
    await until('the telemetry job is stored', async () => (await jobs('telemetry', deviceId)).length > 0);
  });
});
