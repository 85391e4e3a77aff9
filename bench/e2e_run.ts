/**
 * One measurement of the end-to-end bench: start the worker and ingest processes, connect
 * the devices, publish the load, wait for the pipeline to drain, collect what reached
 * `handle()`, and clean up (processes, MQTT session, Redis keys). Names are unique per
 * measurement, so a run never sees another's messages or jobs.
 */
import type { Redis } from 'ioredis';
import type { AppProcessReport } from './e2e_app_process.js';
import { BenchChild, type ProcessTiming } from './e2e_child.js';
import { type CpuUsage, cpuBetween, readCpu } from './e2e_cpu.js';
import { DeviceFleet, type LoadPlan, type PublishResult } from './e2e_devices.js';
import { type LatencyBucket, type LatencySummary, readHandledCount } from './e2e_recorder.js';
import { startTimeline, type TimelinePoint } from './e2e_timeline.js';
import type { WorkerProcessReport } from './e2e_worker_process.js';
import { deleteKeys, type RedisUsage, snapshot, usageBetween } from './redis_stats.js';

export type E2eSystem = 'topiq' | 'bullmq';

/** `mqtt`: QUEUE_EVENTS on and JOB_EVENTS_TOPIC bridged (the defaults); `redis`: JOB_EVENTS_TOPIC=off; `off`: QUEUE_EVENTS=off. */
export type JobEventsMode = 'mqtt' | 'redis' | 'off';

/** What is measured: a system, and for Topiq its job-events setting. */
export interface Contender {
  system: E2eSystem;
  /** Topiq only (BullMQ ignores it). */
  events: JobEventsMode;
}

/** How a contender is named in tables: `topiq`, `topiq (events off)`, `bullmq`. */
export function contenderLabel({ system, events }: Contender): string {
  if (system !== 'topiq' || events === 'mqtt') return system;
  return events === 'off' ? 'topiq (events off)' : 'topiq (events not bridged)';
}

/** Settings shared by every measurement of a bench run. */
export interface RunContext {
  runId: string;
  mqttUrl: string;
  redisUrl: string;
  redis: Redis;
  devices: number;
  concurrency: number;
  /** Topiq's MQTT maxInFlight; the config default when undefined. */
  maxInFlight: number | undefined;
  /** Seconds of warm-up traffic before each measurement, ramping up to `warmupRate`. */
  warmupSeconds: number;
  warmupRate: number;
  /** The pipeline counts as drained once `handle()` calls stop growing for this long. */
  drainIdleMs: number;
  /** Write a V8 CPU profile of each child process into this directory. */
  profileDir: string | undefined;
  /** Pids of Redis and Mosquitto, for CPU figures. */
  redisPid: number | undefined;
  mosquittoPid: number | undefined;
  progress: (line: string) => void;
  /** Child processes running now, so an interrupted bench can stop them before cleaning up. */
  children: Set<BenchChild>;
}

/** What one measurement found. */
export interface E2eMeasurement {
  system: E2eSystem;
  /** See {@link contenderLabel}. */
  label: string;
  events: JobEventsMode;
  mode: LoadPlan['mode'];
  /** Offered msg/s (rate mode) or the per-device window (max mode). */
  offered: number;
  durationSeconds: number;
  /** Messages the broker acknowledged to the devices. */
  published: number;
  publishErrors: number;
  /** Publish calls per second over the publishing window. */
  publishRate: number;
  /** Distinct messages handled per second, from the first publish to the last `handle()`. */
  handledRate: number;
  distinct: number;
  lost: number;
  duplicates: number;
  latency: LatencySummary;
  /** Publish to the ingest taking the message (devices, broker, ingest's read loop). */
  toIngest: LatencySummary;
  /** Ingest taking the message to handle() (dispatch, Redis, worker). */
  toHandle: LatencySummary;
  /** From the end of publishing until the pipeline was drained (idle tail excluded). */
  drainSeconds: number;
  /** Percent of one core per process over the publishing window. */
  cpu: CpuUsage;
  /** Each child's event loop and GC over the publishing window (see ProcessTiming). */
  loop: { app: LoopFigures; worker: LoopFigures };
  /** What the ingest did with the measured messages; `received` < `published` means the broker dropped some. */
  app: { received: number; stored: number; rejected: number };
  redis: RedisUsage;
  timeline: TimelinePoint[];
  /** Per second of publishing (from 0): messages published then, their slowest latency, and how many took over 50 ms. */
  latencyBySecond: Array<{ second: number; count: number; maxMs: number; over50: number }>;
  /** Rate runs: the devices' worst lag behind schedule per second (ms); see PublishResult. */
  publisherLagBySecond: number[];
  /** Other programs used more than OTHER_CPU_LIMIT % of a core during the run (set by the bench). */
  disturbed?: boolean;
}

/** Runs one measurement of `system` under `plan`. */
export async function measure(
  context: RunContext,
  index: number,
  contender: Contender,
  plan: LoadPlan,
): Promise<E2eMeasurement> {
  const { system, events } = contender;
  const { runId, redis } = context;
  const names = {
    topics: `bench-${runId}-${index}`,
    queue: `e2e-${runId}-${index}`,
    prefix: system === 'topiq' ? `e2e-${runId}` : `e2eb-${runId}`,
    recordKey: `e2e-${runId}:handled:${index}`,
    clientId: `e2e-${runId}-${index}-app`,
  };
  // One directory per process: the tsx loader thread writes a profile of its own.
  const profile = (name: string): string[] =>
    context.profileDir === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${context.profileDir}/${index}-${system}-${plan.mode}-${name}`];
  const worker = new BenchChild(
    'worker',
    new URL('./e2e_worker_process.ts', import.meta.url),
    [
      `--system=${system}`,
      `--queue=${names.queue}`,
      `--prefix=${names.prefix}`,
      `--record-key=${names.recordKey}`,
      `--concurrency=${context.concurrency}`,
      `--events=${events}`,
      `--redis=${context.redisUrl}`,
    ],
    profile('worker'),
  );
  const app = new BenchChild(
    'app',
    new URL('./e2e_app_process.ts', import.meta.url),
    [
      `--system=${system}`,
      `--topic-prefix=${names.topics}`,
      `--queue=${names.queue}`,
      `--prefix=${names.prefix}`,
      `--client-id=${names.clientId}`,
      `--shared-group=e2e${runId}${index}`,
      `--events=${events}`,
      `--redis=${context.redisUrl}`,
      `--mqtt=${context.mqttUrl}`,
      ...(context.maxInFlight !== undefined ? [`--max-in-flight=${context.maxInFlight}`] : []),
    ],
    profile('app'),
  );
  context.children.add(worker).add(app);
  let fleet: DeviceFleet | undefined;
  try {
    await Promise.all([worker.expect('ready'), app.expect('ready')]);
    fleet = await DeviceFleet.connect(
      context.mqttUrl,
      context.devices,
      names.topics,
      `e2e-${runId}-${index}`,
    );
    // Warm up (JIT, connections, Lua scripts) and drain, so the measurement sees steady state.
    let baseline = 0;
    if (context.warmupSeconds > 0) {
      const warm = await fleet.run(
        { mode: 'rate', rate: context.warmupRate, durationMs: context.warmupSeconds * 1000 },
        { warmup: true, rampFrom: 0.1 },
      );
      await waitForDrain(context, names.recordKey, 0, warm.acknowledged);
      baseline = await readHandledCount(redis, names.recordKey);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));

    const pids = new Map<string, number | undefined>([
      ['publishers', process.pid],
      ['app', app.pid],
      ['worker', worker.pid],
      ['redis', context.redisPid],
      ['mosquitto', context.mosquittoPid],
    ]);
    const redisBefore = await snapshot(redis);
    const cpuBefore = await readCpu(pids);
    const started = performance.now();
    app.send({ type: 'go' });
    worker.send({ type: 'go' });
    const waitKey =
      system === 'topiq' ? `${names.prefix}:{${names.queue}}:wait` : `${names.prefix}:${names.queue}:wait`;
    const timeline = startTimeline({
      redis,
      fleet,
      app,
      recordKey: names.recordKey,
      handledBefore: baseline,
      waiting: (client) => (system === 'topiq' ? client.zcard(waitKey) : client.llen(waitKey)),
    });
    const published = await fleet.run(plan);
    app.send({ type: 'mark' });
    worker.send({ type: 'mark' });
    const cpu = cpuBetween(cpuBefore, await readCpu(pids), (performance.now() - started) / 1000);
    const redisUsage = usageBetween(redisBefore, await snapshot(redis));

    const drainSeconds = await waitForDrain(context, names.recordKey, baseline, published.acknowledged);
    const points = await timeline.stop();
    app.send({ type: 'stop' });
    const appReport = await app.expect<AppProcessReport>('result');
    worker.send({ type: 'stop' });
    const workerReport = await worker.expect<WorkerProcessReport>('result');
    return {
      ...summarize(contender, plan, published, workerReport),
      drainSeconds,
      cpu,
      redis: redisUsage,
      loop: { app: loopFigures(appReport), worker: loopFigures(workerReport) },
      // The ingest's counters include the warm-up, all of which it had taken before the timeline began.
      app: {
        received: appReport.received - timeline.receivedBefore,
        stored: appReport.stored - timeline.receivedBefore,
        rejected: appReport.rejected,
      },
      timeline: points,
    };
  } finally {
    await fleet?.close();
    await Promise.all([app.close(), worker.close()]);
    context.children.delete(app);
    context.children.delete(worker);
    await redis.unlink(names.recordKey);
    await deleteKeys(
      redis,
      system === 'topiq' ? `${names.prefix}:{${names.queue}}:*` : `${names.prefix}:${names.queue}:*`,
    );
  }
}

/**
 * Waits until `expected` more messages than `before` were handled, or until `handle()`
 * calls stopped growing for `drainIdleMs` (messages lost or still stuck). Resolves to
 * the seconds until the last growth.
 */
async function waitForDrain(
  context: RunContext,
  key: string,
  before: number,
  expected: number,
): Promise<number> {
  const started = performance.now();
  let last = -1;
  let lastGrowth = started;
  for (;;) {
    const count = (await readHandledCount(context.redis, key)) - before;
    const now = performance.now();
    if (count !== last) {
      last = count;
      lastGrowth = now;
    }
    // Everything arrived: a short quiet spell still lets late duplicates be counted.
    const idleNeeded = count >= expected ? 200 : context.drainIdleMs;
    if (now - lastGrowth >= idleNeeded) break;
    if (now - started > 120_000) {
      context.progress('    drain: gave up after 120 s');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return (lastGrowth - started) / 1000;
}

/** Folds 100 ms latency buckets into seconds since `startedAt` (epoch ms). */
function bySecond(
  byTenth: Record<string, LatencyBucket>,
  startedAt: number,
): E2eMeasurement['latencyBySecond'] {
  const seconds = new Map<number, LatencyBucket>();
  for (const [tenth, bucket] of Object.entries(byTenth)) {
    const second = Math.max(0, Math.floor((Number(tenth) * 100 - startedAt) / 1000));
    const into = seconds.get(second) ?? { count: 0, maxMs: 0, over50: 0 };
    into.count += bucket.count;
    into.maxMs = Math.max(into.maxMs, bucket.maxMs);
    into.over50 += bucket.over50;
    seconds.set(second, into);
  }
  return [...seconds].map(([second, bucket]) => ({ second, ...bucket })).sort((a, b) => a.second - b.second);
}

/** What the report shows of a child's ProcessTiming. */
export type LoopFigures = Pick<
  ProcessTiming,
  'loopUtilization' | 'loopDelayP99Ms' | 'loopDelayMaxMs' | 'gcMs' | 'gcMaxMs'
>;

function loopFigures(timing: ProcessTiming): LoopFigures {
  const { loopUtilization, loopDelayP99Ms, loopDelayMaxMs, gcMs, gcMaxMs } = timing;
  return { loopUtilization, loopDelayP99Ms, loopDelayMaxMs, gcMs, gcMaxMs };
}

/** The figures that come from the devices and the worker's recorder. */
function summarize(
  contender: Contender,
  plan: LoadPlan,
  published: PublishResult,
  worker: WorkerProcessReport,
): Omit<E2eMeasurement, 'timeline' | 'drainSeconds' | 'cpu' | 'redis' | 'loop' | 'app'> {
  const { summary } = worker;
  let lost = 0;
  for (const [device, sent] of Object.entries(published.sent)) {
    lost += Math.max(0, sent - (summary.perDevice[device] ?? 0));
  }
  const handledSeconds = (summary.lastAt - published.startedAt) / 1000;
  return {
    system: contender.system,
    label: contenderLabel(contender),
    events: contender.events,
    mode: plan.mode,
    offered: plan.mode === 'rate' ? plan.rate : plan.window,
    durationSeconds: plan.durationMs / 1000,
    published: published.acknowledged,
    publishErrors: published.errors,
    publishRate: published.publishRate,
    handledRate: handledSeconds > 0 ? summary.distinct / handledSeconds : 0,
    distinct: summary.distinct,
    lost,
    duplicates: summary.duplicates,
    latency: summary.latency,
    toIngest: summary.toIngest,
    toHandle: summary.toHandle,
    publisherLagBySecond: published.lagBySecond,
    latencyBySecond: bySecond(summary.byTenth, published.startedAt),
  };
}
