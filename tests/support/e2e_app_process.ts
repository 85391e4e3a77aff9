/**
 * A Topiq app in its own process, for the end-to-end crash tests: `createServer` on an
 * external broker with a fixed client id (so a persistent session), one telemetry route
 * under a test's own topic prefix, and in-process workers on `telemetry`. Configured
 * from the environment (see `e2e_app_process_settings.ts`).
 *
 * Every message the route receives is first journalled to the Redis list
 * `<prefix>:e2e:received` as `{"pid":..,"dup":..,"payload":".."}`. Then, in mode
 * `block`, the handler never returns (so the message is never acknowledged and no job
 * is stored: the process is there to be killed); in mode `dispatch`, it dispatches a
 * ProcessSensorDataJob like the app's TelemetryController.
 *
 * Protocol with the parent, on stdout: `ready {"pid":..,"worker":"<clientId>"}` once
 * subscribed. SIGTERM stops the server gracefully. Logs go to stderr.
 */
import { ProcessSensorDataJob } from '../../app/jobs/index.js';
import { telemetrySchema } from '../../app/schemas.js';
import { createServer } from '../../bootstrap/server.js';
import { bodyOf, createLogger, createRouteTable, type MessageContext, validate } from '../../core/index.js';
import { type ReceivedEntry, receivedKey, settingsFromEnv } from './e2e_app_process_settings.js';

/** Exits when the parent test process is gone or after two minutes: never a leftover. */
function guardLifetime(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(3);
  }, 500).unref();
  setTimeout(() => process.exit(4), 120_000).unref();
}

async function main(): Promise<void> {
  guardLifetime();
  const { prefix, clientId, mode, topicPrefix, sharedGroup, redisUrl, mqttUrl, logLevel } = settingsFromEnv(
    process.env,
  );
  const log = createLogger({ level: logLevel ?? 'warn', destination: process.stderr });

  const routes = createRouteTable(sharedGroup);
  // Created below; the handler only runs once the server has started.
  let journal: (entry: ReceivedEntry) => Promise<unknown> = async () => {};
  routes.on(
    `${topicPrefix}/devices/{deviceId}/telemetry`,
    async function journalThenHandle(ctx: MessageContext<Readonly<Record<string, string>>>) {
      await journal({ pid: process.pid, dup: ctx.dup, payload: ctx.text() });
      if (mode === 'block') await new Promise<never>(() => {});
      const reading = bodyOf(ctx, telemetrySchema);
      await ctx.dispatch(ProcessSensorDataJob, { deviceId: ctx.params.deviceId ?? 'unknown', ...reading });
    },
    { qos: 1, shared: true, middleware: [validate(telemetrySchema)] },
  );

  const server = await createServer({
    env: {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      QUEUE_SHUTDOWN_GRACE_MS: '2000',
    },
    mqtt: { url: mqttUrl, clientId, protocolVersion: 5, sharedGroup },
    routes,
    log,
  });
  const redis = server.app.redis;
  if (!redis) throw new Error('the app process needs the Redis driver');
  journal = (entry) => redis.rpush(receivedKey(prefix), JSON.stringify(entry));

  process.once('SIGTERM', () => {
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  });
  await server.start(mode === 'dispatch' ? { workers: { queues: 'telemetry', concurrency: 1 } } : {});
  process.stdout.write(`ready ${JSON.stringify({ pid: process.pid, worker: clientId })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`e2e_app_process failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
