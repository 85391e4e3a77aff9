/**
 * The Mosquitto configuration docker-compose.yml ships (docker/mosquitto/mosquitto.conf and
 * acl), run by a real Mosquitto of the test's own, with the example app served against it as
 * in the compose stack: the config loads, the app's subscriptions are granted, a device
 * reaches only its own tree and cannot take the app's client id, and the dashboard account
 * follows job events and starts jobs.
 * Only the listener's port and the files' directories are changed for the test.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../../bootstrap/server.js';
import type { Server } from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { until } from '../../support/until.js';

const shipped = new URL('../../../docker/mosquitto/', import.meta.url);
const passwords = {
  'topiq-app': 'app-secret',
  'sensor-1': 'sensor-1-secret',
  'sensor-2': 'sensor-2-secret',
  dashboard: 'dash-secret',
};

let dir: string;
let broker: ChildProcess;
let brokerLog = '';
let url: string;
let server: Server;
const prefix = uniqueQueue('mqdeploy');
const clients: MqttClient[] = [];

/** The shipped config with the test's port and directories. */
function adaptedConfig(port: number): string {
  const config = readFileSync(new URL('mosquitto.conf', shipped), 'utf8');
  expect(config).toMatch(/^listener 1883$/m);
  return config
    .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
    .replaceAll('/mosquitto/config/', `${dir}/`)
    .replaceAll('/mosquitto/data/', `${dir}/data/`);
}

async function connect(username: keyof typeof passwords, protocolVersion: 4 | 5 = 4): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    username,
    password: passwords[username],
    protocolVersion,
    reconnectPeriod: 0,
    clientId: `${username}-${Math.random().toString(16).slice(2, 10)}`,
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'topiq-mosquitto-'));
  mkdirSync(join(dir, 'data'));
  // Mosquitto started as root runs as the mosquitto user: it must read the files and write the data
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'data'), 0o777);
  copyFileSync(new URL('acl', shipped), join(dir, 'acl'));
  for (const [username, password] of Object.entries(passwords)) {
    execFileSync('mosquitto_passwd', [
      ...(username === 'topiq-app' ? ['-c'] : []),
      '-b',
      join(dir, 'passwords'),
      username,
      password,
    ]);
  }
  chmodSync(join(dir, 'passwords'), 0o644);
  const port = await freePort();
  writeFileSync(join(dir, 'mosquitto.conf'), adaptedConfig(port));
  url = `mqtt://127.0.0.1:${port}`;
  broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  broker.stdout?.on('data', (chunk: Buffer) => {
    brokerLog += chunk.toString();
  });
  broker.stderr?.on('data', (chunk: Buffer) => {
    brokerLog += chunk.toString();
  });
  let exited: number | null = null;
  broker.on('exit', (code) => {
    exited = code;
  });
  // it logs to stdout, which it buffers through a pipe: wait for a login instead
  await until(
    'the shipped Mosquitto config loads and takes a login',
    async () => {
      if (exited !== null) throw new Error(`mosquitto exited with ${exited}: ${brokerLog}`);
      const probe = await mqtt
        .connectAsync(url, { username: 'dashboard', password: passwords.dashboard, reconnectPeriod: 0 })
        .catch(() => undefined);
      await probe?.endAsync(true);
      return probe !== undefined;
    },
    10_000,
    () => brokerLog,
  );

  server = await createServer({
    env: {
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      // as docker-compose.yml's app service
      MQTT_URL: url,
      MQTT_CLIENT_ID: `topiq-app-${prefix}`,
      MQTT_USERNAME: 'topiq-app',
      MQTT_PASSWORD: passwords['topiq-app'],
      JOB_EVENTS_TOPIC: 'on',
      JOB_COMMAND_TOPIC: 'topiq/commands/jobs',
    },
  });
  // as the compose stack's worker services, in this process
  await server.start({ workers: { queues: 'telemetry,notifications,emails', concurrency: 4, sleep: 0.2 } });
});

afterAll(async () => {
  for (const client of clients) await client.endAsync(true).catch(() => {});
  await server?.stop();
  broker?.kill();
  const redis = new Redis('redis://127.0.0.1:6379');
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe("the shipped Mosquitto config with the app's account", () => {
  it("grants the app's subscriptions, and a device's telemetry under its own tree becomes a job", async () => {
    const device = await connect('sensor-1');
    await device.publishAsync('devices/sensor-1/telemetry', JSON.stringify({ temperature: 21.5 }), {
      qos: 1,
    });

    await until('the telemetry job is stored', async () =>
      (await server.app.jobs.list({ queue: 'telemetry' })).some(
        (job) => (job.payload as { deviceId?: string }).deviceId === 'sensor-1',
      ),
    );
    expect(server.pipeline.stats.deadLettered).toBe(0);
  });

  it("drops a device's publish under another device's tree and on the job command topic", async () => {
    const device = await connect('sensor-1');
    await device.publishAsync('devices/sensor-2/telemetry', JSON.stringify({ temperature: 99 }), { qos: 1 });
    await device.publishAsync('topiq/commands/jobs/SendEmailJob', JSON.stringify({ payload: {} }), {
      qos: 1,
    });
    // then one it may send: once its job is stored, the two before it were handled or dropped
    await device.publishAsync('devices/sensor-1/telemetry', JSON.stringify({ temperature: 7 }), { qos: 1 });
    await until('the allowed telemetry job is stored', async () =>
      (await server.app.jobs.list({ queue: 'telemetry' })).some(
        (job) => (job.payload as { temperature?: number }).temperature === 7,
      ),
    );

    const jobs = await server.app.jobs.list();
    expect(jobs.filter((job) => (job.payload as { deviceId?: string }).deviceId === 'sensor-2')).toEqual([]);
    expect(jobs.filter((job) => job.name === 'SendEmailJob')).toEqual([]);
    expect(await server.app.deadLetters.list(10)).toEqual([]);
  });

  it("keeps the app's session when a device logs in under the app's client id, again and again", async () => {
    const telemetryOf = async (deviceId: string) =>
      (await server.app.jobs.list({ queue: 'telemetry', limit: 1000 }))
        .filter((job) => (job.payload as { deviceId?: string }).deviceId === deviceId)
        .map((job) => (job.payload as { temperature: number }).temperature)
        .sort((a, b) => a - b);
    // sensor-1 asks for the app's client id (the configured one and the compose file's), as a
    // firmware's reconnect loop would, each time it is thrown off
    const intruders = [`topiq-app-${prefix}`, 'topiq-app'].map((clientId) =>
      mqtt.connect(url, {
        username: 'sensor-1',
        password: passwords['sensor-1'],
        clientId,
        clean: false,
        reconnectPeriod: 20,
      }),
    );
    clients.push(...intruders);
    await until('the intruders are connected, under ids of their own', () =>
      intruders.some((intruder) => intruder.connected),
    );
    await sleep(500);
    // another device's readings, each acknowledged by Mosquitto, all become jobs
    const device = await connect('sensor-2');
    const sent = [1, 2, 3, 4, 5];
    for (const temperature of sent) {
      await device.publishAsync('devices/sensor-2/telemetry', JSON.stringify({ temperature }), { qos: 1 });
      await sleep(100);
    }
    await until(
      'every reading sent while the intruders were on is stored: the app kept its session',
      async () => (await telemetryOf('sensor-2')).length === sent.length,
      5_000,
      () => telemetryOf('sensor-2'),
    );
    for (const intruder of intruders) await intruder.endAsync(true);
    expect(await telemetryOf('sensor-2')).toEqual(sent);
  });

  it('lets the dashboard follow job events and start a job by command, but not read device topics', async () => {
    const dashboard = await connect('dashboard', 5);
    const granted = await dashboard.subscribeAsync(
      { 'topiq/jobs/#': { qos: 0 }, 'devices/#': { qos: 0 }, 'topiq/replies/dashboard': { qos: 1 } },
      {},
    );
    // Mosquitto grants a subscription and checks the read ACL per message it would deliver
    expect(granted.map((grant) => grant.qos)).not.toContain(128);
    const topics: string[] = [];
    const replies: string[] = [];
    dashboard.on('message', (topic, payload) => {
      if (topic === 'topiq/replies/dashboard') replies.push(payload.toString());
      else topics.push(topic);
    });

    const command = {
      payload: { to: 'ops@example.com', subject: 'deployed', body: '' },
      options: { jobId: `cmd-${prefix}` },
    };
    await dashboard.publishAsync('topiq/commands/jobs/SendEmailJob', JSON.stringify(command), {
      qos: 1,
      properties: { responseTopic: 'topiq/replies/dashboard' },
    });

    await until(
      'the reply and the completed event arrive',
      () => replies.length > 0 && topics.includes(`topiq/jobs/emails/cmd-${prefix}/completed`),
      10_000,
      () => ({ replies, topics }),
    );
    expect(JSON.parse(replies[0]!)).toEqual({ id: `cmd-${prefix}` });

    // a device message the dashboard's devices/# would match, were it allowed to read it
    const device = await connect('sensor-1');
    await device.publishAsync('devices/sensor-1/telemetry', JSON.stringify({ temperature: 42 }), { qos: 1 });
    await until('the telemetry job is stored, its message delivered where it may be', async () =>
      (await server.app.jobs.list({ queue: 'telemetry' })).some(
        (job) => (job.payload as { temperature?: number }).temperature === 42,
      ),
    );
    // a reply to a later command comes after, on the same connection, anything sent it before
    await dashboard.publishAsync(
      'topiq/commands/jobs/SendEmailJob',
      JSON.stringify({ ...command, options: {} }),
      {
        qos: 1,
        properties: { responseTopic: 'topiq/replies/dashboard' },
      },
    );
    await until('the second reply arrives', () => replies.length === 2);
    expect(topics.filter((topic) => topic.startsWith('devices/'))).toEqual([]);
  });
});
