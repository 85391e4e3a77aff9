/**
 * End to end, device to `handle()`: simulated devices publish QoS 1 telemetry through
 * Mosquitto; an ingest process turns each message into a job in Redis; a worker process
 * runs it. Compares Topiq (createServer + route table + `ctx.dispatch`, Topiq worker)
 * with a hand-wired baseline (mqtt.js subscriber + BullMQ `queue.add`, BullMQ worker)
 * under the same load, alternating, and reports msgs/s on both ends, messages lost and
 * duplicated (distinct (device, seq) that reached `handle()`), and publish-to-`handle()`
 * latency. Two loads: `rate` (a fixed total rate spread evenly over the devices) and
 * `max` (each device keeps `window` publishes unacknowledged: the ceiling).
 *
 * Layout: this process runs the devices; the ingest (./e2e_app_process.ts) and the worker
 * (./e2e_worker_process.ts) are child processes, so the three event loops do not share
 * a thread; Redis and Mosquitto are the machine's own. Each measurement has its own
 * topics, queue, key prefix and MQTT client ids, warms up for `warmupSeconds` (not
 * counted), then publishes, waits for the pipeline to drain, and deletes what it made.
 * A lost message was acknowledged to its device by Mosquitto but never reached
 * `handle()`: Mosquitto (default settings) drops QoS 1 messages for a subscriber once
 * its in-flight window (the app's Receive Maximum, or 20) and 1,000 queued are full.
 *
 *   node --import tsx bench/e2e_bench.ts [--rate=10000] [--duration=10] [--devices=50]
 *     [--modes=rate,max] [--systems=topiq,bullmq] [--window=10] [--warmup=2] [--repeats=1]
 *     [--events=mqtt,off] [--max-in-flight=N] [--profile-dir=DIR] [--quick] [--details] [--json]
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { findProcess } from './e2e_cpu.js';
import type { LoadPlan } from './e2e_devices.js';
import { formatE2eBench } from './e2e_report.js';
import {
  type Contender,
  contenderLabel,
  type E2eMeasurement,
  type E2eSystem,
  type JobEventsMode,
  measure,
  type RunContext,
} from './e2e_run.js';
import { OTHER_CPU_LIMIT, QuietMachine } from './quiet_machine.js';
import { benchConnection, deleteKeys, redisVersion } from './redis_stats.js';

export { formatE2eBench } from './e2e_report.js';
export type { E2eMeasurement, E2eSystem, JobEventsMode } from './e2e_run.js';

export interface E2eBenchOptions {
  /** Default `mqtt://127.0.0.1:1883`. */
  mqttUrl?: string;
  /** Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Simulated devices, one connection each. Default 50. */
  devices?: number;
  /** Total offered msg/s in `rate` mode. Default 10,000. */
  rate?: number;
  /** Seconds of publishing per measurement. Default 10 (3 with `quick`). */
  durationSeconds?: number;
  /** Loads to run. Default both: `rate`, then `max`. */
  modes?: LoadPlan['mode'][];
  /** Default both. */
  systems?: E2eSystem[];
  /** Unacknowledged publishes per device in `max` mode. Default 10. */
  window?: number;
  /** Measurements per system and mode. Default 1. */
  repeats?: number;
  /** Worker concurrency, both systems. Default 50. */
  concurrency?: number;
  /**
   * Topiq is measured once per entry: `redis` (the framework's defaults: job events on, not
   * bridged to MQTT), `mqtt` (also bridged: JOB_EVENTS_TOPIC=on) or `off` (QUEUE_EVENTS=off).
   * Default `['redis', 'off']`.
   */
  events?: JobEventsMode[];
  /** Topiq's MQTT_MAX_IN_FLIGHT; the config default (1000) when unset. */
  maxInFlight?: number;
  /** Seconds of warm-up traffic (ramping up to `rate`, not measured) before each measurement. Default 2 (1 with `quick`). */
  warmupSeconds?: number;
  /** Drained once `handle()` calls stop growing this long. Default 2000 ms. */
  drainIdleMs?: number;
  /** Write a V8 CPU profile of every app and worker process into this directory. */
  profileDir?: string;
  /** Short runs: 3 s per measurement. */
  quick?: boolean;
  /** Progress lines; default stderr. */
  progress?: (line: string) => void;
}

export interface E2eMachine {
  cpu: string;
  cores: number;
  node: string;
  redis: string;
  mosquitto: string;
  bullmq: string;
  mqtt: string;
}

export interface E2eBenchResult {
  machine: E2eMachine;
  settings: {
    devices: number;
    rate: number;
    durationSeconds: number;
    window: number;
    concurrency: number;
    events: JobEventsMode[];
    maxInFlight: number | undefined;
  };
  layout: string;
  measurements: E2eMeasurement[];
  seconds: number;
}

/**
 * Runs the end-to-end comparison and returns every measurement; format with {@link formatE2eBench}.
 *
 * @example
 * const result = await runE2eBench({ rate: 10_000, durationSeconds: 10 });
 * console.log(formatE2eBench(result));
 */
export async function runE2eBench(options: E2eBenchOptions = {}): Promise<E2eBenchResult> {
  const started = performance.now();
  const quick = options.quick ?? false;
  const redisUrl = options.redisUrl ?? 'redis://127.0.0.1:6379';
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const redis = new Redis({ ...benchConnection(redisUrl), lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const runId = randomBytes(3).toString('hex');
  const context: RunContext = {
    runId,
    mqttUrl: options.mqttUrl ?? 'mqtt://127.0.0.1:1883',
    redisUrl,
    redis,
    devices: options.devices ?? 50,
    concurrency: options.concurrency ?? 50,
    maxInFlight: options.maxInFlight,
    drainIdleMs: options.drainIdleMs ?? 2000,
    warmupSeconds: options.warmupSeconds ?? (quick ? 1 : 2),
    warmupRate: options.rate ?? 10_000,
    profileDir: options.profileDir,
    redisPid:
      Number(/process_id:(\d+)/.exec((await redis.call('INFO', 'server')) as string)?.[1]) || undefined,
    mosquittoPid: await findProcess('mosquitto'),
    progress,
    children: new Set(),
  };
  const settings = {
    devices: context.devices,
    rate: options.rate ?? 10_000,
    durationSeconds: options.durationSeconds ?? (quick ? 3 : 10),
    window: options.window ?? 10,
    concurrency: context.concurrency,
    events: options.events ?? ['redis', 'off'],
    maxInFlight: context.maxInFlight,
  };
  // Ctrl-C: stop the children (each removes its MQTT session and closes its connections
  // when its stdin closes), then delete this run's keys.
  const interrupted = (): void => {
    progress("interrupted: stopping the child processes, then deleting this run's Redis keys...");
    void Promise.all([...context.children].map((child) => child.close(8000)))
      .then(() => removeKeys(redis, runId))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    const machine = await describeMachine(redis, context.mqttUrl);
    const quiet = new QuietMachine(redis, progress, 20_000);
    const measurements: E2eMeasurement[] = [];
    const contenders: Contender[] = (options.systems ?? ['topiq', 'bullmq']).flatMap((system): Contender[] =>
      system === 'topiq'
        ? settings.events.map((events) => ({ system, events }))
        : [{ system, events: 'mqtt' as const }],
    );
    let index = 0;
    let pairs = 0;
    for (let round = 0; round < (options.repeats ?? 1); round++) {
      for (const mode of options.modes ?? ['rate', 'max']) {
        // Alternate which system goes first, so drift over the run hits both alike.
        const order = pairs++ % 2 === 0 ? contenders : [...contenders].reverse();
        for (const contender of order) {
          const plan: LoadPlan =
            mode === 'rate'
              ? { mode, rate: settings.rate, durationMs: settings.durationSeconds * 1000 }
              : { mode, window: settings.window, durationMs: settings.durationSeconds * 1000 };
          const result = await measureUndisturbed(context, quiet, () => ++index, contender, plan);
          measurements.push(result);
        }
      }
    }
    return {
      machine,
      settings,
      layout:
        `${cpus().length} cores shared by: this process (${context.devices} device connections), ` +
        'the ingest process (Topiq app, or mqtt.js + BullMQ Queue), the worker process, ' +
        'redis-server and mosquitto',
      measurements,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    process.off('SIGINT', interrupted);
    await removeKeys(redis, runId);
    redis.disconnect();
  }
}

/** Deletes every key of run `runId`: Topiq's `e2e-<id>...`, BullMQ's `e2eb-<id>...`. */
async function removeKeys(redis: Redis, runId: string): Promise<void> {
  await deleteKeys(redis, `e2e-${runId}*`);
  await deleteKeys(redis, `e2eb-${runId}*`);
}

/**
 * One measurement, started on a quiet machine and repeated (once) when other
 * programs used more than OTHER_CPU_LIMIT % of a core meanwhile: on 2 shared cores a
 * compiler next door halves the rate.
 */
async function measureUndisturbed(
  context: RunContext,
  quiet: QuietMachine,
  nextIndex: () => number,
  contender: Contender,
  plan: LoadPlan,
): Promise<E2eMeasurement> {
  const label = `${contenderLabel(contender)} ${plan.mode}`;
  for (let attempt = 1; ; attempt++) {
    await quiet.wait();
    context.progress(`  e2e ${label}: publishing for ${plan.durationMs / 1000} s...`);
    const result = await measure(context, nextIndex(), contender, plan);
    const other = result.cpu.other;
    const disturbed = other !== undefined && other > OTHER_CPU_LIMIT;
    context.progress(
      `  e2e ${label}: ${Math.round(result.publishRate)} msg/s published, ` +
        `${Math.round(result.handledRate)} msg/s handled, lost ${result.lost}, dup ${result.duplicates}, ` +
        `p50 ${result.latency.p50.toFixed(1)} ms, p99 ${result.latency.p99.toFixed(1)} ms` +
        (disturbed
          ? ` - disturbed: other processes at ${other.toFixed(0)}% CPU${attempt < 2 ? ', repeating' : ''}`
          : ''),
    );
    if (!disturbed || attempt === 2) return { ...result, disturbed };
  }
}

async function describeMachine(redis: Redis, mqttUrl: string): Promise<E2eMachine> {
  const require = createRequire(import.meta.url);
  const version = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    redis: await redisVersion(redis),
    mosquitto: await brokerVersion(mqttUrl),
    bullmq: version('bullmq'),
    mqtt: version('mqtt'),
  };
}

/** The broker's `$SYS/broker/version`, or `unknown` when it publishes none within a second. */
async function brokerVersion(url: string): Promise<string> {
  const { connectAsync } = await import('mqtt');
  const client = await connectAsync(url, { reconnectPeriod: 0 });
  try {
    return await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('unknown'), 1000);
      client.on('message', (_topic, payload) => {
        clearTimeout(timer);
        resolve(payload.toString());
      });
      void client.subscribeAsync('$SYS/broker/version');
    });
  } finally {
    await client.endAsync(true);
  }
}

function parseFlags(): E2eBenchOptions & { json: boolean; details: boolean } {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      devices: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      repeats: { type: 'string' },
      concurrency: { type: 'string' },
      modes: { type: 'string' },
      systems: { type: 'string' },
      events: { type: 'string' },
      'max-in-flight': { type: 'string' },
      'profile-dir': { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      details: { type: 'boolean', default: false },
    },
  });
  const number = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number`);
    return parsed;
  };
  const list = <T extends string>(name: string, value: string | undefined, allowed: readonly T[]) => {
    if (value === undefined) return undefined;
    const items = value.split(',').map((item) => item.trim());
    const bad = items.filter((item) => !(allowed as readonly string[]).includes(item));
    if (bad.length > 0) throw new Error(`--${name} takes ${allowed.join(', ')}; got ${bad.join(', ')}`);
    return items as T[];
  };
  const options: E2eBenchOptions & { json: boolean; details: boolean } = {
    quick: values.quick,
    json: values.json,
    details: values.details,
  };
  const set = <K extends keyof E2eBenchOptions>(key: K, value: E2eBenchOptions[K] | undefined): void => {
    if (value !== undefined) (options as E2eBenchOptions)[key] = value;
  };
  set('rate', number('rate', values.rate));
  set('durationSeconds', number('duration', values.duration));
  set('devices', number('devices', values.devices));
  set('window', number('window', values.window));
  if (values.warmup !== undefined) options.warmupSeconds = Number(values.warmup);
  set('repeats', number('repeats', values.repeats));
  set('concurrency', number('concurrency', values.concurrency));
  set('maxInFlight', number('max-in-flight', values['max-in-flight']));
  set('modes', list('modes', values.modes, ['rate', 'max'] as const));
  set('systems', list('systems', values.systems, ['topiq', 'bullmq'] as const));
  set('events', list('events', values.events, ['mqtt', 'redis', 'off'] as const));
  set('profileDir', values['profile-dir']);
  return options;
}

async function main(): Promise<void> {
  const { json, details, ...options } = parseFlags();
  const result = await runE2eBench(options);
  console.log(json ? JSON.stringify(result, null, 2) : formatE2eBench(result, { details }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  }
}
