/**
 * End to end through the embedded broker: a real device client publishes, the app's
 * routes run inside the broker's pre-acknowledgement hook, jobs land in Redis, and
 * in-process workers run them.
 */
import { canonicalTime, derivedJobId } from '../../../app/ids.js';
import { describe, expect, it } from 'vitest';
import { createRouteTable, type MessageContext } from '../../../core/index.js';
import { publishJson, until, useE2eFixture } from '../../support/e2e_fixture.js';
import { RawMqttClient } from '../../support/raw_mqtt_client.js';

const setup = useE2eFixture();

describe('an app with the embedded broker', () => {
  it('stores the ProcessSensorDataJob of a QoS 1 telemetry message before the device gets its PUBACK, then runs it', async () => {
    const { embeddedServer, device, jobs, driver } = setup();
    const server = await embeddedServer({ workers: true });
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });
    const at = '2025-01-01T12:00:00Z';

    // What the queue held when the PUBACK reached the device (the callback runs on PUBACK).
    const atPuback = await new Promise<{ ackedAt: number; stored: Awaited<ReturnType<typeof jobs>> }>(
      (resolve, reject) => {
        d1.publish('devices/d1/telemetry', JSON.stringify({ temperature: 35.5, at }), { qos: 1 }, (error) => {
          if (error) return reject(error);
          const ackedAt = Date.now();
          jobs('telemetry', 'd1').then((stored) => resolve({ ackedAt, stored }), reject);
        });
      },
    );
    expect(atPuback.stored).toHaveLength(1);
    const [job] = atPuback.stored;
    expect(job).toMatchObject({
      name: 'ProcessSensorDataJob',
      queue: 'telemetry',
      payload: { deviceId: 'd1', temperature: 35.5, at },
    });
    expect(job!.createdAt).toBeLessThanOrEqual(atPuback.ackedAt);
    expect(server.pipeline.stats).toMatchObject({ received: 1, handled: 1, unmatched: 0, deadLettered: 0 });

    await until('the telemetry job completes', async () => {
      return (await driver.getJob('telemetry', job!.id))?.status === 'completed';
    });
    expect(await driver.getJob('telemetry', job!.id)).toMatchObject({
      status: 'completed',
      attempts: 1,
      result: { alerted: true },
    });

    // 35.5 °C is above the 30 °C threshold: the job dispatched an alert, which a worker ran too.
    const alertId = derivedJobId('alert', 'reading', 'd1', canonicalTime(at)); // as the job names it
    await until('the alert job completes', async () => {
      return (await driver.getJob('notifications', alertId))?.status === 'completed';
    });
    expect(await driver.getJob('notifications', alertId)).toMatchObject({
      name: 'SendNotificationJob',
      payload: { deviceId: 'd1', level: 'warning', message: expect.stringContaining('35.5') },
    });
  });

  it('does not raise an alert for a reading at or below 30 °C', async () => {
    const { embeddedServer, device, jobs, driver } = setup();
    const server = await embeddedServer({ workers: true });
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });
    await publishJson(d1, 'devices/d1/telemetry', { temperature: 30 });
    const [job] = await jobs('telemetry', 'd1');
    await until(
      'the telemetry job completes',
      async () => (await driver.getJob('telemetry', job!.id))?.status === 'completed',
      10_000,
      () => driver.getJob('telemetry', job!.id),
    );
    expect(await driver.getJob('telemetry', job!.id)).toMatchObject({ result: { alerted: false } });
    expect(await jobs('notifications')).toEqual([]);
  });

  it('hands the {kind} of devices/d1/alarms/door to AlarmController, which dispatches a notification', async () => {
    const { embeddedServer, device, jobs } = setup();
    const server = await embeddedServer();
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });
    await publishJson(d1, 'devices/d1/alarms/door', { severity: 'critical', message: 'forced open' });

    const stored = await jobs('notifications');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      name: 'SendNotificationJob',
      status: 'queued',
      priority: -100, // critical alarms jump the queue
      payload: { deviceId: 'd1', level: 'critical', message: 'door: forced open' },
    });
  });

  it('matches a custom route table with +, # and {rest*} levels and passes each handler its params', async () => {
    const { embeddedServer, device } = setup();
    const seen: { route: string; topic: string; params: Record<string, string> }[] = [];
    const record = (ctx: MessageContext<any>) => {
      seen.push({ route: ctx.route, topic: ctx.topic, params: { ...ctx.params } });
    };
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/sensors/+/reading', function plusRoute(ctx) {
      record(ctx);
    });
    routes.on('devices/{deviceId}/logs/{path*}', function restRoute(ctx) {
      record(ctx);
    });
    routes.on('devices/{deviceId}/debug/#', function hashRoute(ctx) {
      record(ctx);
    });
    routes.on('devices/{deviceId}/{channel}/{sub}/reading', function twoParams(ctx) {
      record(ctx);
    });
    const server = await embeddedServer({ routes });
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });

    // The routes run before the PUBACK, so each message's handlers have run when publish resolves.
    await publishJson(d1, 'devices/d1/sensors/s7/reading', '1');
    expect(seen.splice(0)).toEqual([
      {
        route: 'devices/{deviceId}/sensors/+/reading',
        topic: 'devices/d1/sensors/s7/reading',
        params: { deviceId: 'd1' },
      },
      {
        route: 'devices/{deviceId}/{channel}/{sub}/reading',
        topic: 'devices/d1/sensors/s7/reading',
        params: { deviceId: 'd1', channel: 'sensors', sub: 's7' },
      },
    ]);

    await publishJson(d1, 'devices/d1/logs/boot/stage/2', 'x');
    expect(seen.splice(0)).toEqual([
      {
        route: 'devices/{deviceId}/logs/{path*}',
        topic: 'devices/d1/logs/boot/stage/2',
        params: { deviceId: 'd1', path: 'boot/stage/2' },
      },
    ]);

    await publishJson(d1, 'devices/d1/debug/a/b', 'x');
    await publishJson(d1, 'devices/d1/debug', 'x'); // MQTT: '#' also matches its parent level
    expect(seen.splice(0)).toEqual([
      { route: 'devices/{deviceId}/debug/#', topic: 'devices/d1/debug/a/b', params: { deviceId: 'd1' } },
      { route: 'devices/{deviceId}/debug/#', topic: 'devices/d1/debug', params: { deviceId: 'd1' } },
    ]);

    // {path*} needs at least one level, so the bare parent topic matches no route.
    await publishJson(d1, 'devices/d1/logs', 'x');
    expect(seen).toEqual([]);
    expect(server.pipeline.stats).toMatchObject({ received: 5, handled: 4, unmatched: 1 });
  });

  it('dead-letters a payload that is not JSON or fails the schema, acknowledges it, and goes on with the next message', async () => {
    const { embeddedServer, device, jobs } = setup();
    const server = await embeddedServer();
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });

    // Each publish resolving is the PUBACK: a bad message is acknowledged, not redelivered forever.
    await publishJson(d1, 'devices/d1/telemetry', 'not json {');
    await publishJson(d1, 'devices/d1/telemetry', { temperature: 'hot' });
    await publishJson(d1, 'devices/d1/telemetry', { temperature: 21 });

    const letters = await server.app.deadLetters.list(10);
    expect(letters).toHaveLength(2);
    const [schemaFailure, notJson] = letters; // newest first
    expect(notJson).toMatchObject({
      topic: 'devices/d1/telemetry',
      payload: 'not json {',
      code: 'E_INVALID_MESSAGE',
      route: 'devices/{deviceId}/telemetry',
      reason: expect.stringContaining('not valid JSON'),
    });
    expect(schemaFailure).toMatchObject({
      topic: 'devices/d1/telemetry',
      payload: '{"temperature":"hot"}',
      code: 'E_INVALID_MESSAGE',
      reason: expect.stringMatching(/does not match the route's schema.*temperature/),
    });

    const stored = await jobs('telemetry');
    expect(stored.map((job) => job.payload)).toEqual([{ deviceId: 'd1', temperature: 21 }]);
    expect(server.pipeline.stats).toMatchObject({ received: 3, handled: 3, deadLettered: 2 });
  });

  it('counts a message on a topic no route matches, acknowledges it and keeps running', async () => {
    const { embeddedServer, device, jobs } = setup();
    const server = await embeddedServer();
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });

    await publishJson(d1, 'devices/d1/firmware/unknown', { version: 3 });
    expect(server.pipeline.stats).toMatchObject({ received: 1, handled: 0, unmatched: 1, deadLettered: 0 });
    expect(await server.app.deadLetters.list(10)).toEqual([]);

    await publishJson(d1, 'devices/d1/telemetry', { temperature: 22 });
    expect(await jobs('telemetry', 'd1')).toHaveLength(1);
    expect(server.pipeline.stats).toMatchObject({ received: 2, handled: 1, unmatched: 1 });
  });

  it('refuses to publish to a topic filter, and still publishes to a plain topic afterwards', async () => {
    const { embeddedServer, device } = setup();
    const server = await embeddedServer({ env: { MQTT_DEVICES: 'd7:pw-d7' } });
    const listener = await device(server.gateway.url, { username: 'd7', password: 'pw-d7' });
    const received: string[] = [];
    listener.on('message', (topic) => received.push(topic));
    await listener.subscribeAsync('devices/d7/#', { qos: 1 });
    for (const topic of ['devices/d7/+', 'devices/d7/#', '']) {
      await expect(server.gateway.publish(topic, 'x', { qos: 1 })).rejects.toMatchObject({
        code: 'E_INVALID_TOPIC',
      });
    }
    await server.gateway.publish('devices/d7/commands', 'x', { qos: 1 });
    await until('the plain publish arrives', () => received.length > 0);
    expect(received).toEqual(['devices/d7/commands']);
  });

  it('stores one job for a QoS 2 telemetry message the device sends again after a lost PUBREC', async () => {
    const { embeddedServer, jobs } = setup();
    const server = await embeddedServer();
    const port = Number(new URL(server.gateway.url).port);
    const login = { clientId: 'd7', username: 'd7', password: 'any' };
    // no `at`: the job gets a random id, so nothing but the broker keeps a second copy out
    const telemetry = {
      cmd: 'publish',
      topic: 'devices/d7/telemetry',
      payload: Buffer.from(JSON.stringify({ temperature: 21 })),
      qos: 2,
      retain: false,
      messageId: 42,
    } as const;
    const first = await RawMqttClient.open(port, login);
    first.send({ ...telemetry, dup: false });
    await first.next('pubrec');
    await first.close(); // as if the PUBREC was lost with the connection
    const again = await RawMqttClient.open(port, login);
    again.send({ ...telemetry, dup: true });
    await again.next('pubrec');
    again.send({ cmd: 'pubrel', messageId: 42 });
    await again.next('pubcomp');
    await again.close();

    expect(await jobs('telemetry', 'd7')).toHaveLength(1);
    expect(server.pipeline.stats).toMatchObject({ received: 1, handled: 1 });
  });
});
