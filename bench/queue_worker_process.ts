/**
 * One worker process for the queue bench: a Topiq `Worker` or a BullMQ `Worker` over a
 * prefilled queue of no-op jobs, timed from the worker's start until `--jobs` jobs are
 * acknowledged as completed in Redis. Connections are opened before the clock starts.
 *
 * A full garbage collection runs before the clock (so run it with `--expose-gc`), as one has
 * in any worker that has run for a while. Under the bench (forked with an IPC channel) it sends `ready`, waits for `go` so the
 * parent can snapshot Redis, then sends `done` with its measurements. Run alone it starts
 * at once and prints the result as JSON. `--profile=out.cpuprofile` writes a V8 CPU
 * profile of the timed span only (start-up excluded), for Chrome DevTools or speedscope:
 *
 *   node --expose-gc --import tsx bench/queue_worker_process.ts --system=topiq --queue=q1 \
 *     --prefix=tqb-manual --jobs=50000 --concurrency=50 --keep=1000 --profile=/tmp/worker.cpuprofile
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { dirname } from 'node:path';
import { constants, type PerformanceEntry, PerformanceObserver, performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Worker as BullWorker } from 'bullmq';
import { createLogger, JobRegistry, RedisQueueDriver, Worker, JobEventPublisher } from '../core/index.js';
import { NoopJob } from './noop_job.js';
import { benchConnection } from './redis_stats.js';
import { required } from './bench_args.js';
import { DEFAULT_EVENT_LISTENER_TIMING } from '../core/queue/drivers/redis/event_listeners.js';

/** What the worker process reports. */
export interface WorkerProcessResult {
  jobs: number;
  seconds: number;
  /** CPU this process used while timed, in seconds (user + system). */
  cpuSeconds: number;
  /** Share of the timed span the event loop was busy. */
  loopUtilization: number;
  /** Milliseconds of garbage collection while timed: young generation (scavenges) and the rest. */
  gcMs: { young: number; old: number };
  /**
   * Topiq only: driver calls the worker made while timed, and the writes to its main Redis
   * socket with the time they took (a write is a system call; on a VM it is not cheap).
   */
  calls?: {
    reserve: number;
    reserved: number;
    complete: number;
    completed: number;
    socketWrites: number;
    socketWriteUs: number;
  };
}

export type WorkerProcessMessage =
  | { type: 'ready' }
  | { type: 'done'; result: WorkerProcessResult }
  | { type: 'failed'; message: string };

const { values } = parseArgs({
  options: {
    system: { type: 'string' },
    queue: { type: 'string' },
    prefix: { type: 'string', default: 'tqb-manual' },
    jobs: { type: 'string' },
    concurrency: { type: 'string', default: '1' },
    keep: { type: 'string', default: '1000' },
    log: { type: 'string', default: 'warn' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    profile: { type: 'string' },
    // Job events: on with records (the default), or set apart to see what each costs.
    events: { type: 'string' },
  },
});

const system = required('system', values.system);
const queue = required('queue', values.queue);
const jobs = Number(required('jobs', values.jobs));
const concurrency = Number(values.concurrency);
const keep = Number(values.keep);
const events = values.events === undefined ? keep > 0 : values.events === 'on';

/** The Redis driver with counters: the last `complete` of the run stops the clock. */
class CountingDriver extends RedisQueueDriver {
  readonly calls = { reserve: 0, reserved: 0, complete: 0, completed: 0, socketWrites: 0, socketWriteUs: 0 };

  /** Times every write to the main connection's socket (call after it is connected). */
  countSocketWrites(): void {
    const stream = this.redis.stream;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      const started = performance.now();
      try {
        return write(...args);
      } finally {
        this.calls.socketWriteUs += (performance.now() - started) * 1000;
        this.calls.socketWrites++;
      }
    }) as typeof stream.write;
  }
  onCompleted: (() => void) | undefined;

  override async reserve(...args: Parameters<RedisQueueDriver['reserve']>) {
    const result = await super.reserve(...args);
    this.calls.reserve++;
    this.calls.reserved += result.jobs.length;
    return result;
  }

  override async complete(...args: Parameters<RedisQueueDriver['complete']>) {
    const stored = await super.complete(...args);
    this.calls.complete++;
    for (const ok of stored) if (ok) this.calls.completed++;
    this.onCompleted?.();
    return stored;
  }
}

interface Runner {
  start(onAllDone: () => void): void;
  stop(): Promise<void>;
  calls?: WorkerProcessResult['calls'];
}

async function topiqRunner(): Promise<Runner> {
  const driver = new CountingDriver({
    connection: benchConnection(values.redis),
    prefix: values.prefix,
    retention: { completedCount: keep },
  });
  await driver.redis.ping();
  driver.countSocketWrites();
  if (events) {
    // Before the clock, like the connections: a worker that has run for a while knows whether
    // anyone listens to job events. One that starts asks, and publishes for its start-up
    // window meanwhile (event_listeners.ts); that is left out, as a worker runs for hours.
    driver.hasEventListeners();
    await setTimeout(DEFAULT_EVENT_LISTENER_TIMING.startupMs + 300);
  }
  const worker = new Worker({
    driver,
    registry: new JobRegistry().register(NoopJob),
    queues: [queue],
    concurrency,
    // "records off" turns job events off too (issue 4 compares both on against both off),
    // unless --events says otherwise.
    ...(events ? { events: new JobEventPublisher(driver) } : {}),
    log: createLogger({ level: values.log, name: 'bench-worker' }),
  });
  let run: Promise<unknown> | undefined;
  return {
    calls: driver.calls,
    start(onAllDone) {
      driver.onCompleted = () => {
        if (driver.calls.completed >= jobs) onAllDone();
      };
      run = worker.run();
    },
    async stop() {
      worker.stop();
      await run;
      await driver.close();
    },
  };
}

async function bullRunner(): Promise<Runner> {
  if (values.log !== 'silent' && values.log !== 'warn') throw new Error('--log must be silent or warn');
  const worker = new BullWorker(queue, async () => {}, {
    connection: benchConnection(values.redis),
    concurrency,
    // Jobs carry their own removeOnComplete from the bench's queue; this is the same setting.
    removeOnComplete: { count: keep },
    autorun: false,
  });
  // BullMQ has no logger; errors are its only output, and we surface them.
  worker.on('error', (error) => console.error('bullmq worker error:', error));
  await worker.waitUntilReady();
  let run: Promise<void> | undefined;
  return {
    start(onAllDone) {
      let completed = 0;
      worker.on('completed', () => {
        if (++completed === jobs) onAllDone();
      });
      run = worker.run();
    },
    async stop() {
      await worker.close();
      await run;
    },
  };
}

/** Samples this thread's stacks until `stop()`, which resolves to the profile as JSON. */
async function startProfiler(): Promise<{ stop(): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return JSON.stringify(profile);
    },
  };
}

/**
 * Runs a full garbage collection. A worker that has run for hours has been through many, and
 * one changes what the young ones cost afterwards: it promotes whatever is live to the old
 * generation, long-lived maps' tables included (see `core/support/churn_map.ts`). A process
 * timed in its first seconds, before any, would measure a state a long-running worker leaves.
 */
function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the bench worker with node --expose-gc: it runs a full GC before its clock');
  gc();
}

async function main(): Promise<void> {
  const runner = system === 'topiq' ? await topiqRunner() : await bullRunner();
  fullGc();
  if (process.send) {
    process.send({ type: 'ready' } satisfies WorkerProcessMessage);
    await new Promise<void>((resolve) => process.once('message', () => resolve()));
  }
  const profiler = values.profile === undefined ? undefined : await startProfiler();
  const gcMs = { young: 0, old: 0 };
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcMs.young += entry.duration;
      else gcMs.old += entry.duration;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const loopBefore = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await new Promise<WorkerProcessResult>((resolve) => {
    let finished = false;
    runner.start(() => {
      if (finished) return;
      finished = true;
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      resolve({
        jobs,
        seconds,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        loopUtilization: performance.eventLoopUtilization(loopBefore).utilization,
        gcMs: { ...gcMs },
        ...(runner.calls ? { calls: { ...runner.calls } } : {}),
      });
    });
  });
  gc.disconnect();
  if (profiler && values.profile !== undefined) {
    await mkdir(dirname(values.profile), { recursive: true });
    await writeFile(values.profile, await profiler.stop());
  }
  if (process.send) process.send({ type: 'done', result } satisfies WorkerProcessMessage);
  else console.log(JSON.stringify(result));
  await runner.stop();
  process.disconnect?.();
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (process.send) {
    // Its connections may still be open: exit rather than hang the bench.
    process.send({ type: 'failed', message } satisfies WorkerProcessMessage, () => process.exit(1));
  } else {
    console.error(message);
    process.exit(1);
  }
});
