/**
 * A server stopped gracefully (SIGTERM, a deploy) while its workers run jobs: intake stops first,
 * but MQTT stays open until the workers are done, so the job events of the jobs they finish in
 * their grace period still reach MQTT subscribers, on an external broker and on the embedded one.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../../bootstrap/server.js';
import { createRouteTable, Job, JobManager, RedisQueueDriver, type Server } from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import { startPrivateMosquitto } from '../../support/private_mosquitto.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { until } from '../../support/until.js';

/** Takes `ms`, as a firmware push would. */
class PushFirmwareJob extends Job<{ ms: number }, { pushed: boolean }> {
  static override readonly jobName = 'PushFirmwareJob';
  static override readonly queue = 'firmware';
  async handle({ ms }: { ms: number }) {
    await sleep(ms);
    return { pushed: true };
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server with a worker on `firmware`, job events on MQTT, and a route that counts messages. */
async function serve(
  mqttEnv: Record<string, string>,
): Promise<{ server: Server; prefix: string; handled: string[] }> {
  const prefix = uniqueQueue('stopev');
  const handled: string[] = [];
  const routes = createRouteTable();
  routes.on('devices/{id}/reading', ({ topic }) => {
    handled.push(topic);
  });
  const server = await createServer({
    env: {
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      JOB_EVENTS_TOPIC: 'on',
      ...mqttEnv,
    },
    routes,
  });
  server.app.registry.register(PushFirmwareJob);
  await server.start({ workers: { queues: 'firmware', concurrency: 1, sleep: 0.2 } });
  let stopped = false;
  const stop = server.stop.bind(server);
  server.stop = async (options) => {
    stopped = true;
    await stop(options);
  };
  cleanups.push(async () => {
    if (!stopped) await server.stop();
    const redis = new Redis('redis://127.0.0.1:6379');
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  return { server, prefix, handled };
}

async function subscriber(
  url: string,
  options: mqtt.IClientOptions = {},
): Promise<{ client: MqttClient; topics: string[] }> {
  const topics: string[] = [];
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  cleanups.push(() => client.endAsync(true));
  client.on('message', (topic) => topics.push(topic));
  await client.subscribeAsync('topiq/jobs/#');
  return { client, topics };
}

/**
 * Runs a job of 800 ms, stops the server once it runs (calling `whileStopping` meanwhile), and
 * checks that the job completed and MQTT heard so.
 */
async function stopDuringJob(
  server: Server,
  prefix: string,
  topics: string[],
  whileStopping: () => Promise<void> = async () => {},
): Promise<void> {
  const id = await server.app.dispatcher.dispatch(PushFirmwareJob, { ms: 800 });
  await until('the job runs', () => topics.includes(`topiq/jobs/firmware/${id}/running`));

  const stopping = server.stop({ reason: 'SIGTERM' }); // 10 s of grace: the job finishes in it
  await whileStopping();
  await stopping;

  const reader = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
  cleanups.push(() => reader.close());
  expect((await new JobManager(reader).find(id, 'firmware')).status).toBe('completed');
  await sleep(200);
  expect(topics).toContain(`topiq/jobs/firmware/${id}/completed`);
}

describe('job events on MQTT during a graceful stop', () => {
  it('publishes the completed event of a job that finishes in the grace period, on an external broker', async () => {
    const broker = await startPrivateMosquitto();
    cleanups.push(() => broker.dispose());
    const { server, prefix } = await serve({ MQTT_URL: broker.url });
    const { topics } = await subscriber(broker.url);

    await stopDuringJob(server, prefix, topics);
  });

  it('publishes it on the embedded broker too, whose devices’ messages meanwhile are held, not handled', async () => {
    const port = await freePort();
    const { server, prefix, handled } = await serve({
      MQTT_BROKER_PORT: String(port),
      MQTT_BROKER_HOST: '127.0.0.1',
      MQTT_DEVICES: 'sensor-1:sensor-secret',
      MQTT_SERVICE_ACCOUNTS: 'dashboard:dash-secret',
    });
    const url = `mqtt://127.0.0.1:${port}`;
    const { topics } = await subscriber(url, { username: 'dashboard', password: 'dash-secret' });
    const device = await mqtt.connectAsync(url, {
      username: 'sensor-1',
      password: 'sensor-secret',
      reconnectPeriod: 0,
    });
    cleanups.push(() => device.endAsync(true));
    await device.publishAsync('devices/sensor-1/reading', '{"t":1}', { qos: 1 });
    expect(handled).toEqual(['devices/sensor-1/reading']);

    let acknowledged = false;
    await stopDuringJob(server, prefix, topics, async () => {
      await sleep(100); // intake stopped: the workers drain
      void device.publishAsync('devices/sensor-1/reading', '{"t":2}', { qos: 1 }).then(
        () => {
          acknowledged = true;
        },
        () => {}, // the broker closed on it
      );
    });

    expect(handled).toHaveLength(1);
    expect(acknowledged).toBe(false); // left for the device to send again to the next run
  });
});
