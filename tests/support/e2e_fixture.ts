/**
 * Per-test setup of the end-to-end MQTT tests (`tests/integration/e2e`): servers built
 * with `createServer` (embedded broker on a free port, or an external broker), real
 * mqtt.js device clients, a Redis queue driver to inspect the test's queues, and one
 * cleanup that ends every client, server, broker, proxy and child process the test
 * opened, discards its Mosquitto sessions and deletes every Redis key under its prefix.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach } from 'vitest';
import { createServer } from '../../bootstrap/server.js';
import {
  type AppRouteTable,
  type InProcessWorkers,
  type JobRecord,
  type JobStatus,
  type Logger,
  RedisQueueDriver,
  type Server,
} from '../../core/index.js';
import { discardSession } from './mqtt_sessions.js';
import { freePort } from './net.js';
import { deleteKeys } from './redis_keys.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';

/** Every status a job record can be in, to find a job wherever it is now. */
const STATUSES: JobStatus[] = ['pending', 'queued', 'delayed', 'running', 'completed', 'failed', 'cancelled'];

/** The queues of the example app, as `serve --workers` would run them. */
export const ALL_APP_QUEUES: InProcessWorkers = { queues: 'telemetry,notifications,emails', concurrency: 5 };

/** What both kinds of server are built from. */
export interface E2eServerOptions {
  /** Extra environment (REDIS_URL, QUEUE_PREFIX, LOG_LEVEL and the broker are set already). */
  env?: Record<string, string>;
  /** A route table instead of the app's `app/routes/`. */
  routes?: AppRouteTable;
  /** Run in-process workers: `true` for {@link ALL_APP_QUEUES}. */
  workers?: boolean | InProcessWorkers;
  log?: Logger;
}

/** An app on an external broker. */
export interface ExternalServerOptions extends E2eServerOptions {
  url: string;
  clientId: string;
  protocolVersion: 4 | 5;
  /** False for brokers without `$share` (aedes). Default true. */
  sharedSubscriptions?: boolean;
}

export interface E2eFixture {
  /** Redis key prefix (QUEUE_PREFIX) of every server the test builds. */
  prefix: string;
  /** A short random id for topics, device ids, client ids and shared groups. */
  id: string;
  /** A connection for inspecting Redis. */
  redis: Redis;
  /** A driver on the test's prefix, straight to Redis (not through any proxy). */
  driver: RedisQueueDriver;
  /** Builds and starts a server with its embedded broker on a free loopback port. */
  embeddedServer(options?: E2eServerOptions): Promise<Server>;
  /** Builds and starts a server subscribed to an external broker; its session is discarded afterwards. */
  externalServer(options: ExternalServerOptions): Promise<Server>;
  /** Connects a device client (MQTT 3.1.1, no reconnects) and resolves once connected. */
  device(url: string, options?: IClientOptions): Promise<MqttClient>;
  /** Runs `cleanup` after the test, before the clients and servers opened earlier are ended. */
  defer(cleanup: () => Promise<unknown> | unknown): void;
  /** Every job of `queue`, in any status, optionally only those whose payload has `deviceId`. */
  jobs(queue: string, deviceId?: string): Promise<JobRecord[]>;
}

/**
 * Registers the cleanup of the enclosing file and returns the factory each test calls once.
 *
 * @example
 * const setup = useE2eFixture();
 * it('...', async () => {
 *   const { embeddedServer, device } = setup();
 * });
 */
export function useE2eFixture(): () => E2eFixture {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await withTimeout(Promise.resolve().then(cleanup), 10_000, 'a cleanup step');
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'e2e cleanup failed');
  });
  return () => createFixture((cleanup) => cleanups.push(cleanup));
}

function createFixture(defer: (cleanup: () => Promise<unknown> | unknown) => void): E2eFixture {
  const id = randomBytes(4).toString('hex');
  const prefix = `e2e-${id}`;
  const redis = new Redis(REDIS_URL);
  const driver = new RedisQueueDriver({ connection: REDIS_URL, prefix });
  defer(async () => {
    await deleteKeys(redis, prefix);
    await driver.close();
    await redis.quit();
  });

  const baseEnv = (options: E2eServerOptions): Record<string, string> => ({
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    // Idle in-process workers look again every few seconds; shutdown does not wait for that.
    QUEUE_SHUTDOWN_GRACE_MS: '2000',
    ...options.env,
  });

  const start = async (server: Server, options: E2eServerOptions): Promise<Server> => {
    defer(() => server.stop());
    const workers = options.workers === true ? ALL_APP_QUEUES : options.workers || undefined;
    await server.start(workers ? { workers } : {});
    return server;
  };

  return {
    prefix,
    id,
    redis,
    driver,
    defer,
    async embeddedServer(options = {}) {
      const port = await freePort();
      const env = { MQTT_BROKER_HOST: '127.0.0.1', MQTT_BROKER_PORT: String(port), ...baseEnv(options) };
      const server = await createServer({
        env,
        ...(options.routes ? { routes: options.routes } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
      return start(server, options);
    },
    async externalServer(options) {
      const { url, clientId, protocolVersion } = options;
      const server = await createServer({
        env: baseEnv(options),
        mqtt: {
          url,
          clientId,
          protocolVersion,
          ...(options.sharedSubscriptions === false ? { sharedSubscriptions: false } : {}),
        },
        ...(options.routes ? { routes: options.routes } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
      // A persistent session left on Mosquitto would queue matching messages for a day.
      if (url === MOSQUITTO_URL) defer(() => discardSession(url, clientId, protocolVersion));
      return start(server, options);
    },
    async device(url, options = {}) {
      const client = await connectAsync(url, {
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
        clientId: `e2e-device-${randomBytes(4).toString('hex')}`,
        ...options,
      });
      defer(() => client.endAsync(true));
      return client;
    },
    async jobs(queue, deviceId) {
      // A job can move between two listings and show up twice: keep its latest record.
      const found = new Map<string, JobRecord>();
      for (const status of STATUSES) {
        for (const job of await driver.listJobs(queue, status, 0, 1000)) found.set(job.id, job);
      }
      const all = [...found.values()];
      return deviceId === undefined ? all : all.filter((job) => payloadDeviceId(job) === deviceId);
    },
  };
}

/** The `deviceId` field of a job's payload, if it has one. */
export function payloadDeviceId(job: JobRecord): unknown {
  const { payload } = job;
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload)
    ? payload.deviceId
    : undefined;
}

/** Publishes and resolves on the broker's acknowledgement (PUBACK for QoS 1). */
export async function publishJson(
  client: MqttClient,
  topic: string,
  payload: unknown,
  qos: 0 | 1 = 1,
): Promise<void> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  await client.publishAsync(topic, body, { qos });
}

export { until } from './until.js';

/** Resolves when `client`'s connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
