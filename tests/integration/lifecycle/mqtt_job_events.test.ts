/**
 * Job events and job commands over real MQTT: a server with the embedded broker on a
 * free port, a service-account subscriber, and in-process workers.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../../bootstrap/server.js';
import type { Server } from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';

describe('job events and commands over MQTT', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(
    extraEnv: Record<string, string> = {},
    beforeStart: (server: Server) => void = () => {},
  ): Promise<{ server: Server; url: string }> {
    const prefix = uniqueQueue('mqttev');
    const port = await freePort();
    const server = await createServer({
      env: {
        REDIS_URL: 'redis://127.0.0.1:6379',
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'silent',
        MQTT_BROKER_PORT: String(port),
        MQTT_BROKER_HOST: '127.0.0.1',
        MQTT_DEVICES: 'sensor-1:sensor-secret',
        MQTT_SERVICE_ACCOUNTS: 'dashboard:dash-secret',
        JOB_EVENTS_TOPIC: 'on',
        ...extraEnv,
      },
    });
    beforeStart(server);
    await server.start({ workers: { queues: 'telemetry,notifications,emails', concurrency: 4, sleep: 0.2 } });
    cleanups.push(async () => {
      await server.stop();
      const redis = new (await import('ioredis')).Redis('redis://127.0.0.1:6379');
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });
    return { server, url: `mqtt://127.0.0.1:${port}` };
  }

  async function connect(url: string, username: string, password: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, {
      username,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    cleanups.push(() => client.endAsync(true));
    return client;
  }

  it('keeps serving when the job-event subscription fails at start, and bridges events once a retry succeeds', async () => {
    let attempts = 0;
    let subscribed: Promise<unknown> | undefined;
    const { url } = await start({}, (server) => {
      const { driver } = server.app;
      const subscribe = driver.subscribeEvents.bind(driver);
      driver.subscribeEvents = (listener, onError) => {
        attempts++;
        if (attempts <= 2) return Promise.reject(new Error('Redis refused the subscription'));
        const subscribing = subscribe(listener, onError);
        subscribed = subscribing;
        return subscribing;
      };
    });
    const dashboard = await connect(url, 'dashboard', 'dash-secret');
    const topics: string[] = [];
    dashboard.on('message', (topic) => topics.push(topic));
    await dashboard.subscribeAsync('topiq/jobs/#', { qos: 0 });
    const deadline = Date.now() + 5000;
    while (attempts < 3 && Date.now() < deadline) await sleep(20);
    expect(attempts).toBe(3);
    // events raised before the subscription is active are not recorded (nobody listens yet)
    await subscribed;
    const device = await connect(url, 'sensor-1', 'sensor-secret');
    await device.publishAsync('devices/sensor-1/telemetry', JSON.stringify({ temperature: 20 }), { qos: 1 });
    while (!topics.some((topic) => topic.endsWith('/completed')) && Date.now() < deadline) await sleep(20);
    expect(
      topics.some((topic) => /^topiq\/jobs\/telemetry\/[0-9a-f-]+\/completed$/.test(topic)),
      `topics received: ${topics.join(', ') || 'none'}`,
    ).toBe(true);
  });

  it('publishes each status change of a job on topiq/jobs/<queue>/<id>/<status> with the record as JSON', async () => {
    const { url } = await start();
    const dashboard = await connect(url, 'dashboard', 'dash-secret');
    const received: { topic: string; event: Record<string, unknown> }[] = [];
    dashboard.on('message', (topic, payload) =>
      received.push({ topic, event: JSON.parse(payload.toString()) }),
    );
    await dashboard.subscribeAsync('topiq/jobs/#', { qos: 0 });
    const device = await connect(url, 'sensor-1', 'sensor-secret');
    await device.publishAsync('devices/sensor-1/telemetry', JSON.stringify({ temperature: 21.5 }), {
      qos: 1,
    });
    const deadline = Date.now() + 5000;
    while (!received.some((r) => r.topic.endsWith('/completed')) && Date.now() < deadline) await sleep(20);
    const completed = received.find((r) => r.topic.endsWith('/completed'));
    expect(completed?.topic).toMatch(/^topiq\/jobs\/telemetry\/[0-9a-f-]+\/completed$/);
    expect(completed?.event).toMatchObject({
      name: 'ProcessSensorDataJob',
      status: 'completed',
      result: { alerted: false },
    });
    const id = completed?.event.id as string;
    expect(received.filter((r) => r.event.id === id).map((r) => r.event.status)).toEqual([
      'queued',
      'running',
      'completed',
    ]);
  });

  it('republishes the progress reports it hears on topiq/jobs/<queue>/<id>/progress', async () => {
    const { server, url } = await start();
    const dashboard = await connect(url, 'dashboard', 'dash-secret');
    const received: { topic: string; event: Record<string, unknown> }[] = [];
    dashboard.on('message', (topic, payload) =>
      received.push({ topic, event: JSON.parse(payload.toString()) }),
    );
    await dashboard.subscribeAsync('topiq/jobs/+/+/progress', { qos: 0 });
    // as a worker does once it has stored a report (see the worker tests)
    const job = { id: 'upload-1', name: 'SendEmailJob', queue: 'emails', attempt: 1 };
    server.app.events.progress(job, 'host-1:42:abcdef', 40, 'uploading', { bytes: 4096 });
    server.app.events.progress(job, 'host-1:42:abcdef', 100, null);
    const deadline = Date.now() + 5000;
    while (received.length < 2 && Date.now() < deadline) await sleep(20);
    expect(received).toEqual([
      {
        topic: 'topiq/jobs/emails/upload-1/progress',
        event: {
          kind: 'progress',
          ...job,
          worker: 'host-1:42:abcdef',
          at: expect.any(Number),
          progress: 40,
          progressMessage: 'uploading',
          progressData: { bytes: 4096 },
        },
      },
      {
        topic: 'topiq/jobs/emails/upload-1/progress',
        event: expect.objectContaining({ progress: 100, progressMessage: null, progressData: null }),
      },
    ]);
  });

  it('publishes no progress reports on MQTT with JOB_EVENTS_PROGRESS=off, and the job events still', async () => {
    const { server, url } = await start({ JOB_EVENTS_PROGRESS: 'off' });
    const dashboard = await connect(url, 'dashboard', 'dash-secret');
    const topics: string[] = [];
    dashboard.on('message', (topic) => topics.push(topic));
    await dashboard.subscribeAsync('topiq/jobs/#', { qos: 0 });
    const job = { id: 'upload-2', name: 'SendEmailJob', queue: 'emails', attempt: 1 };
    server.app.events.progress(job, 'host-1:42:abcdef', 40, 'uploading');
    server.app.events.emit(job, 'cancelled', 1);
    const deadline = Date.now() + 5000;
    while (topics.length < 1 && Date.now() < deadline) await sleep(20);
    await sleep(100); // a progress report would have come with the event, in the same message
    expect(topics).toEqual(['topiq/jobs/emails/upload-2/cancelled']);
  });

  it('drops an event whose id or queue no job can have, instead of publishing it on a topic it chose', async () => {
    const { server, url } = await start();
    const dashboard = await connect(url, 'dashboard', 'dash-secret');
    const topics: string[] = [];
    dashboard.on('message', (topic) => topics.push(topic));
    await dashboard.subscribeAsync('topiq/#', { qos: 0 });
    // as anyone who may PUBLISH on the Redis channel could send them
    const forged = [
      { id: 'x/commands/reboot', name: 'SendEmailJob', queue: 'emails' },
      { id: 'x', name: 'SendEmailJob', queue: 'emails/+' },
      { id: 'x', name: 'Send Email', queue: 'emails' },
    ];
    for (const job of forged) server.app.events.emit(job, 'cancelled', 1);
    // a job whose stored spec was damaged is reported without a name, and still goes out
    server.app.events.emit({ id: 'damaged-1', name: '', queue: 'emails' }, 'failed', 1);
    server.app.events.emit({ id: 'real-1', name: 'SendEmailJob', queue: 'emails' }, 'cancelled', 1);
    const deadline = Date.now() + 5000;
    while (topics.length < 2 && Date.now() < deadline) await sleep(20);
    await sleep(100); // the forged ones went out in the same message, before them
    expect(topics).toEqual(['topiq/jobs/emails/damaged-1/failed', 'topiq/jobs/emails/real-1/cancelled']);
  });

  it('starts a job by name from a service account on the command topic, validating its payload', async () => {
    const { server, url } = await start({ JOB_COMMAND_TOPIC: 'topiq/commands/jobs' });
    const dashboard = await connect(url, 'dashboard', 'dash-secret');
    const email = {
      payload: { to: 'ops@example.com', subject: 'hi', body: 'x' },
      options: { hold: true, owner: 'sensor-1', description: 'Weekly report for sensor 1' },
    };
    await dashboard.publishAsync('topiq/commands/jobs/SendEmailJob', JSON.stringify(email), { qos: 1 });
    await dashboard.publishAsync(
      'topiq/commands/jobs/SendEmailJob',
      JSON.stringify({ payload: { to: 'not-an-email' } }),
      { qos: 1 },
    );
    await dashboard.publishAsync('topiq/commands/jobs/NoSuchJob', JSON.stringify({ payload: {} }), {
      qos: 1,
    });
    const forged = { payload: email.payload, options: { owner: 'sensor-1\nlevel=admin' } };
    await dashboard.publishAsync('topiq/commands/jobs/SendEmailJob', JSON.stringify(forged), { qos: 1 });
    const held = await server.app.jobs.list({ queue: 'emails', status: 'pending' });
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({
      name: 'SendEmailJob',
      payload: email.payload,
      owner: 'sensor-1',
      description: 'Weekly report for sensor 1',
    });
    const dead = await server.app.deadLetters.list(10);
    expect(dead.map((d) => d.code).sort()).toEqual([
      'E_INVALID_OPTION',
      'E_INVALID_PAYLOAD',
      'E_JOB_NOT_REGISTERED',
    ]);
    expect(dead.find((d) => d.code === 'E_INVALID_OPTION')?.reason).toMatch(/^owner must be/);
    expect(dead.find((d) => d.code === 'E_INVALID_PAYLOAD')?.reason).toMatch(/to/);
  });

  it('refuses the command topic to devices', async () => {
    const { server, url } = await start({ JOB_COMMAND_TOPIC: 'topiq/commands/jobs' });
    const device = await connect(url, 'sensor-1', 'sensor-secret');
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('topiq/commands/jobs/SendEmailJob', JSON.stringify({ payload: {} }), { qos: 1 });
    await closed;
    expect(await server.app.driver.counts('emails')).toMatchObject({ waiting: 0, pending: 0 });
  });
});
