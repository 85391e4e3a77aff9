/**
 * End to end through a Redis outage: the app reaches Redis through a proxy the test cuts,
 * so only this app loses Redis. A device's message arriving meanwhile is held
 * unacknowledged (the device gets no PUBACK) while the app retries the store; once Redis
 * is back the job is stored, once, and only then is the device acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../../support/capturing_logger.js';
import { publishJson, until, useE2eFixture } from '../../support/e2e_fixture.js';
import { sleep } from '../../support/queue_names.js';
import { TcpProxy } from '../../support/tcp_proxy.js';

const setup = useE2eFixture();

/** An app with the embedded broker whose Redis is behind a proxy the test can cut. */
async function appBehindProxy(env: Record<string, string> = {}) {
  const fixture = setup();
  const proxy = await TcpProxy.start(6379);
  fixture.defer(() => proxy.close());
  const log = capturingLogger('info');
  const server = await fixture.embeddedServer({
    env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, ...env },
    log: log.logger,
  });
  return { ...fixture, proxy, log, server };
}

describe('an app with the embedded broker whose Redis connection fails', () => {
  it('withholds the PUBACK until Redis is back, then stores the job exactly once', async () => {
    const { device, jobs, proxy, log, server } = await appBehindProxy();
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });
    await publishJson(d1, 'devices/d1/telemetry', { temperature: 20 }); // connects the app to Redis

    await proxy.cut();
    let ackedAt: number | undefined;
    d1.publish('devices/d1/telemetry', JSON.stringify({ temperature: 21 }), { qos: 1 }, (error) => {
      if (!error) ackedAt = Date.now();
    });
    await until('the store fails', () => log.events('ingest.store_failed').length > 0);
    await sleep(500);
    expect(ackedAt).toBeUndefined();
    expect(server.pipeline.stats).toMatchObject({ received: 2, handled: 1 });

    const restoredAt = Date.now();
    await proxy.restore();
    await until('the device gets its PUBACK', () => ackedAt !== undefined);
    expect(ackedAt).toBeGreaterThanOrEqual(restoredAt);
    expect(log.events('ingest.resumed')).toHaveLength(1);
    expect(server.pipeline.stats).toMatchObject({ received: 2, handled: 2, deadLettered: 0 });

    const stored = await jobs('telemetry', 'd1');
    expect(stored.map((job) => job.payload)).toEqual(
      expect.arrayContaining([
        { deviceId: 'd1', temperature: 20 },
        { deviceId: 'd1', temperature: 21 },
      ]),
    );
    expect(stored).toHaveLength(2);

    // And ingest goes on as before.
    await publishJson(d1, 'devices/d1/telemetry', { temperature: 22 });
    expect(await jobs('telemetry', 'd1')).toHaveLength(3);
  });

  it('does not store a job twice when Redis stored it but its reply was lost', async () => {
    const { device, jobs, proxy, server } = await appBehindProxy();
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });
    await publishJson(d1, 'devices/d1/telemetry', { temperature: 20 });

    // The push of the next job reaches Redis; its reply never comes back.
    proxy.dropRepliesAfter('"temperature":23');
    let acked = false;
    d1.publish('devices/d1/telemetry', JSON.stringify({ temperature: 23 }), { qos: 1 }, (error) => {
      if (!error) acked = true;
    });
    await until('the job is in Redis', async () => (await jobs('telemetry', 'd1')).length === 2);
    expect(proxy.droppingReplies).toBe(true);
    await sleep(300);
    expect(acked).toBe(false); // the app cannot know the job is stored

    await proxy.cut(); // the connection fails; the app retries the same store
    await proxy.restore();
    await until('the device gets its PUBACK', () => acked);
    const stored = await jobs('telemetry', 'd1');
    expect(stored.map((job) => job.payload)).toEqual(
      expect.arrayContaining([
        { deviceId: 'd1', temperature: 20 },
        { deviceId: 'd1', temperature: 23 },
      ]),
    );
    expect(stored).toHaveLength(2);
    expect(server.pipeline.stats).toMatchObject({ received: 2, handled: 2, deadLettered: 0 });
  });

  it('holds a job command through the outage and dispatches its job once Redis is back', async () => {
    const { device, driver, proxy, log, server } = await appBehindProxy({
      JOB_COMMAND_TOPIC: 'topiq/commands/jobs',
      MQTT_SERVICE_ACCOUNTS: 'dashboard:dash-secret',
    });
    const dashboard = await device(server.gateway.url, { username: 'dashboard', password: 'dash-secret' });
    const command = (jobId: string) => ({
      payload: { to: 'ops@example.com', subject: 'hi', body: 'x' },
      options: { jobId },
    });
    await publishJson(dashboard, 'topiq/commands/jobs/SendEmailJob', command('before')); // connects to Redis

    await proxy.cut();
    let ackedAt: number | undefined;
    const body = JSON.stringify(command('during'));
    dashboard.publish('topiq/commands/jobs/SendEmailJob', body, { qos: 1 }, (error) => {
      if (!error) ackedAt = Date.now();
    });
    await until('the store fails', () => log.events('ingest.store_failed').length > 0);
    await sleep(500);
    expect(ackedAt).toBeUndefined();

    const restoredAt = Date.now();
    await proxy.restore();
    await until('the service gets its PUBACK', () => ackedAt !== undefined);
    expect(ackedAt).toBeGreaterThanOrEqual(restoredAt);
    expect((await driver.getJob('emails', 'during'))?.status).toBe('queued');
    expect(server.pipeline.stats).toMatchObject({ received: 2, handled: 2, deadLettered: 0 });
  });

  it('holds a message whose handler reads device state through the outage, instead of dead-lettering it', async () => {
    const { device, jobs, proxy, log, server } = await appBehindProxy();
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });
    await publishJson(d1, 'devices/d1/status', { online: true, battery: 80 }); // connects to Redis

    await proxy.cut();
    let ackedAt: number | undefined;
    d1.publish('devices/d1/status', JSON.stringify({ online: true, battery: 5 }), { qos: 1 }, (error) => {
      if (!error) ackedAt = Date.now();
    });
    await until('the state read fails', () => log.events('message.store_unavailable').length > 0);
    await sleep(300);
    expect(ackedAt).toBeUndefined();

    const restoredAt = Date.now();
    await proxy.restore();
    await until('the device gets its PUBACK', () => ackedAt !== undefined);
    expect(ackedAt).toBeGreaterThanOrEqual(restoredAt);
    expect(server.pipeline.stats).toMatchObject({ received: 2, handled: 2, deadLettered: 0 });
    expect(log.events('message.store_unavailable')[0]).toMatchObject({
      topic: 'devices/d1/status',
      err: expect.objectContaining({ code: 'E_REDIS_UNAVAILABLE' }),
    });
    // the low-battery warning the handler dispatches once it can read the state
    const warnings = await jobs('notifications', 'd1');
    expect(warnings.map((job) => job.payload)).toEqual([
      expect.objectContaining({ deviceId: 'd1', message: 'battery at 5%' }),
    ]);
  });
});
