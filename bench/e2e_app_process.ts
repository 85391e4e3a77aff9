/**
 * The ingest process of the end-to-end bench, one of:
 *
 * - `topiq`: the app as `npx topiq serve` builds it (`createServer`, config read from the
 *   given environment), with the bench's route table: `<topic-prefix>/devices/{deviceId}/telemetry`,
 *   shared, to a handler that checks the payload and `ctx.dispatch`es an E2eTelemetryJob
 *   onto the bench's queue. External broker, MQTT 5, persistent session, deferred acks.
 * - `bullmq`: the hand-wired baseline: an mqtt.js subscriber (clean session false, QoS 1,
 *   mqtt.js acknowledging each message itself) that calls BullMQ `queue.add` per message.
 *
 * Protocol (./e2e_child.ts): `ready` once subscribed; `go`/`mark` frame the timed span;
 * on `stop` it stops taking messages, waits for what it holds, removes its MQTT session
 * from the broker, reports `result` and exits.
 */
import { parseArgs } from 'node:util';
import { Queue as BullQueue } from 'bullmq';
import { connectAsync } from 'mqtt';
import { createServer } from '../bootstrap/server.js';
import { createRouteTable, InvalidMessageError } from '../core/index.js';
import { type ProcessTiming, report, runChild, serveTimedChild } from './e2e_child.js';
import { type E2eReading, E2eTelemetryJob, toReading } from './e2e_telemetry_job.js';
import { benchConnection } from './redis_stats.js';
import { required, requiredSystem } from './bench_args.js';

/** The `result` report of this process. */
export interface AppProcessReport extends ProcessTiming {
  type: 'result';
  /** Messages the app took from the broker. */
  received: number;
  /** Messages whose job was stored. */
  stored: number;
  /** Messages dead-lettered (Topiq) or dropped as invalid / failed to add (baseline). */
  rejected: number;
}

const { values } = parseArgs({
  options: {
    system: { type: 'string' },
    'topic-prefix': { type: 'string' },
    queue: { type: 'string' },
    prefix: { type: 'string' },
    'client-id': { type: 'string' },
    'shared-group': { type: 'string', default: 'e2e' },
    'max-in-flight': { type: 'string' },
    events: { type: 'string', default: 'mqtt' },
    log: { type: 'string', default: 'warn' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
  },
});

interface Ingest {
  counts(): { received: number; stored: number; rejected: number };
  stop(): Promise<void>;
}

async function startTopiq(topicPrefix: string, queue: string, clientId: string): Promise<Ingest> {
  const sharedGroup = values['shared-group']!;
  const routes = createRouteTable(sharedGroup);
  routes.on(
    `${topicPrefix}/devices/{deviceId}/telemetry`,
    async (ctx) => {
      // The prefix is only known at run time, so the pattern's params are not typed.
      const { deviceId = '' } = ctx.params as Readonly<Record<string, string | undefined>>;
      const reading = toReading(deviceId, ctx.json);
      if (!reading) throw new InvalidMessageError(`not a bench reading on ${ctx.topic}`);
      await ctx.dispatch(E2eTelemetryJob, reading, { queue });
    },
    { qos: 1, shared: true },
  );
  const maxInFlight = values['max-in-flight'];
  const server = await createServer({
    env: {
      REDIS_URL: values.redis,
      QUEUE_PREFIX: required('prefix', values.prefix),
      // `redis`: the defaults (job events on, not bridged to MQTT); `mqtt`: also bridged to
      // MQTT (JOB_EVENTS_TOPIC=on, opt-in); `off`: no events at all.
      QUEUE_EVENTS: values.events === 'off' ? 'off' : 'on',
      JOB_EVENTS_TOPIC: values.events === 'mqtt' ? 'on' : 'off',
      LOG_LEVEL: values.log,
    },
    logToStderr: true,
    mqtt: {
      url: values.mqtt,
      clientId,
      protocolVersion: 5,
      sharedGroup,
      ...(maxInFlight !== undefined ? { maxInFlight: Number(maxInFlight) } : {}),
    },
    routes,
  });
  await server.app.redis!.ping();
  await server.start();
  const { stats } = server.pipeline;
  return {
    counts: () => ({
      received: stats.received,
      stored: stats.handled,
      rejected: stats.deadLettered + stats.rateLimitedDropped,
    }),
    stop: () => server.stop(),
  };
}

async function startBullmq(topicPrefix: string, queueName: string, clientId: string): Promise<Ingest> {
  const queue = new BullQueue<E2eReading>(queueName, {
    connection: benchConnection(values.redis),
    prefix: required('prefix', values.prefix),
    defaultJobOptions: {
      attempts: 3,
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 100_000 },
    },
  });
  await queue.waitUntilReady();
  const client = await connectAsync(values.mqtt, { clientId, clean: false, reconnectPeriod: 1000 });
  client.on('error', (error) => console.error('baseline mqtt error:', error));
  const counts = { received: 0, stored: 0, rejected: 0 };
  let adding = 0;
  let idle: (() => void) | undefined;
  client.on('message', (topic, payload) => {
    counts.received++;
    const deviceId = topic.split('/')[2] ?? '';
    let reading: E2eReading | undefined;
    try {
      reading = toReading(deviceId, JSON.parse(payload.toString('utf8')));
    } catch {
      reading = undefined;
    }
    if (!reading) {
      counts.rejected++;
      return;
    }
    adding++;
    queue
      .add(E2eTelemetryJob.jobName, reading)
      .then(
        () => counts.stored++,
        (error: unknown) => {
          counts.rejected++;
          console.error('baseline queue.add failed:', error);
        },
      )
      .finally(() => {
        if (--adding === 0) idle?.();
      });
  });
  await client.subscribeAsync(`${topicPrefix}/devices/+/telemetry`, { qos: 1 });
  return {
    counts: () => ({ ...counts }),
    async stop() {
      await client.endAsync();
      if (adding > 0) await new Promise<void>((resolve) => (idle = resolve));
      await queue.close();
    },
  };
}

/** Removes the persistent session the ingest left on the broker (and its subscription). */
async function removeSession(clientId: string, protocolVersion: 4 | 5): Promise<void> {
  const client = await connectAsync(values.mqtt, {
    clientId,
    clean: true,
    protocolVersion,
    reconnectPeriod: 0,
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}),
  });
  await client.endAsync();
}

runChild(async () => {
  const system = requiredSystem(values.system);
  const topicPrefix = required('topic-prefix', values['topic-prefix']);
  const queue = required('queue', values.queue);
  const clientId = required('client-id', values['client-id']);
  const ingest =
    system === 'topiq'
      ? await startTopiq(topicPrefix, queue, clientId)
      : await startBullmq(topicPrefix, queue, clientId);
  serveTimedChild<AppProcessReport>(async () => {
    await ingest.stop();
    await removeSession(clientId, system === 'topiq' ? 5 : 4);
    return ingest.counts();
  });
  // Counters for the parent's timeline; ten lines a second, not one per message.
  setInterval(() => report({ type: 'tick', ...ingest.counts() }), 100).unref();
  report({ type: 'ready' });
});
