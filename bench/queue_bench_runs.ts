/**
 * The timed runs of the queue bench: a bulk dispatch in this process, or a worker process
 * (./queue_worker_process.ts) draining a prefilled queue. Each run gets a fresh queue, is
 * framed by Redis INFO snapshots and machine CPU readings, and deletes its keys after.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue, QueueEvents as BullQueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { Dispatcher, RedisQueueDriver } from '../core/index.js';
import { NoopJob } from './noop_job.js';
import type { QuietMachine } from './quiet_machine.js';
import type { WorkerProcessMessage, WorkerProcessResult } from './queue_worker_process.js';
import {
  benchConnection,
  deleteKeys,
  foreignClients,
  machineBusySeconds,
  type RedisSnapshot,
  type RedisUsage,
  snapshot,
  usageBetween,
} from './redis_stats.js';

export type QueueSystem = 'topiq' | 'bullmq';

/** One timed run. */
export interface QueueSample {
  jobs: number;
  seconds: number;
  rate: number;
  /** CPU of the measured Node process (the dispatching bench, or the worker) over wall time. */
  clientCpuPercent: number;
  /** CPU seconds of that process during the run (user + system). */
  clientCpuSeconds: number;
  /**
   * CPU seconds of the bench process itself during the run: the dispatching process in a
   * dispatch run; in a process run, mostly the job-event listener when there is one.
   */
  benchCpuSeconds: number;
  redisCpuPercent: number;
  redis: RedisUsage;
  /** Connections of other programs seen at the start or end of the run (0: Redis was ours). */
  otherClients: number;
  /** CPU other processes on the machine used during the run (Linux only; 100 = one core). */
  otherCpuPercent: number | undefined;
  calls?: WorkerProcessResult['calls'];
  /** The worker process's garbage collection while timed, when a worker did the work. */
  gcMs?: WorkerProcessResult['gcMs'];
}

/** What one run does. */
export interface RunSpec {
  kind: 'dispatch' | 'process';
  system: QueueSystem;
  jobs: number;
  /** Worker concurrency (process runs). */
  concurrency: number;
  /** Completed records kept (0: deleted on completion). */
  keep: number;
  /** Topiq job events; by default on exactly when records are kept. */
  events?: boolean;
  /**
   * A job-event listener in this (the bench) process during the run: Topiq
   * `subscribeEvents`, BullMQ `QueueEvents`. Without one, a Topiq worker stops publishing
   * events after a short while (it records none), as nobody would receive them.
   */
  listener?: boolean;
  /**
   * Topiq only: announce a job-event listener on the listeners' channel without subscribing
   * to the events, so the worker encodes and publishes them and Redis delivers them to
   * nobody. Apart from `listener`, this says how much of a listener's cost is publishing.
   */
  announced?: boolean;
  /** Names the profile file when profiling. */
  label: string;
}

export interface QueueRunsSettings {
  url: string;
  redis: Redis;
  quiet: QuietMachine;
  logLevel: 'warn' | 'silent';
  /** Write a CPU profile of each worker process's timed span into this directory. */
  profileDir?: string | undefined;
}

const BATCH = 1000;
const PREFILL_IN_FLIGHT = 4;
const WORKER_SCRIPT = fileURLToPath(new URL('./queue_worker_process.ts', import.meta.url));

export class QueueRuns {
  /** Prefix of everything this bench creates in Redis: `tqb-<id>` for Topiq, `bull:qb-<id>-` for BullMQ. */
  readonly runId: string;
  readonly #settings: QueueRunsSettings;
  readonly #topiqPrefix: string;
  readonly #drivers = new Map<number, RedisQueueDriver>();
  #queues = 0;

  constructor(runId: string, settings: QueueRunsSettings) {
    this.runId = runId;
    this.#settings = settings;
    this.#topiqPrefix = `tqb-${runId}`;
  }

  async run(spec: RunSpec): Promise<QueueSample> {
    const queue = `qb-${this.runId}-${++this.#queues}`;
    const { redis } = this.#settings;
    try {
      if (spec.kind === 'dispatch') return await this.#dispatch(spec, queue);
      const adder = await this.#adder(spec.system, queue, spec.keep);
      try {
        await addAll(adder, spec.jobs, PREFILL_IN_FLIGHT);
      } finally {
        await adder.close();
      }
      const stopListening = spec.listener
        ? await this.#listen(spec, queue)
        : spec.announced
          ? await this.#announce(spec)
          : undefined;
      try {
        return await this.#work(spec, queue);
      } finally {
        await stopListening?.();
      }
    } finally {
      await deleteKeys(
        redis,
        spec.system === 'topiq' ? `${this.#topiqPrefix}:{${queue}}:*` : `bull:${queue}:*`,
      );
    }
  }

  /** Deletes whatever the bench left in Redis and closes its connections. */
  async close(): Promise<void> {
    const { redis } = this.#settings;
    try {
      if (redis.status === 'ready') {
        await deleteKeys(redis, `${this.#topiqPrefix}:*`);
        await deleteKeys(redis, `bull:qb-${this.runId}-*`);
      }
    } finally {
      for (const driver of this.#drivers.values()) await driver.close();
    }
  }

  async #dispatch(spec: RunSpec, queue: string): Promise<QueueSample> {
    const adder = await this.#adder(spec.system, queue, spec.keep);
    try {
      const started = await this.#startClock();
      await addAll(adder, spec.jobs, 1);
      return sampleOf(started, spec.jobs, await this.#stopClock(started));
    } finally {
      await adder.close();
    }
  }

  /** A connected client that adds jobs `[start, end)` of a run in one bulk call. */
  async #adder(system: QueueSystem, queue: string, keep: number): Promise<Adder> {
    if (system === 'topiq') {
      const dispatcher = new Dispatcher(await this.#driver(keep));
      const options = { queue };
      return {
        add(start, end) {
          const entries = [];
          for (let i = start; i < end; i++) entries.push({ job: NoopJob, payload: { i }, options });
          return dispatcher.dispatchMany(entries);
        },
        close: async () => {},
      };
    }
    const bull = new BullQueue(queue, {
      connection: benchConnection(this.#settings.url),
      defaultJobOptions: { removeOnComplete: keep > 0 ? { count: keep } : true },
    });
    await bull.waitUntilReady();
    return {
      add(start, end) {
        const entries = [];
        for (let i = start; i < end; i++) entries.push({ name: 'noop', data: { i } });
        return bull.addBulk(entries);
      },
      close: () => bull.close(),
    };
  }

  /** Subscribes to the job events of `queue`'s system in this process; resolves to a stop function. */
  async #listen(spec: RunSpec, queue: string): Promise<() => Promise<void>> {
    let heard = 0;
    // at least one event per job (Topiq sends two, BullMQ more): a partial drop shows
    const checkHeard = () => {
      if (heard < spec.jobs)
        throw new Error(`the job-event listener heard ${heard} events for ${spec.jobs} jobs`);
    };
    if (spec.system === 'topiq') {
      const unsubscribe = await (await this.#driver(spec.keep)).subscribeEvents(() => {
        heard++;
      });
      return async () => {
        await unsubscribe();
        checkHeard();
      };
    }
    const events = new BullQueueEvents(queue, { connection: benchConnection(this.#settings.url) });
    for (const name of ['active', 'completed'] as const) {
      events.on(name, () => {
        heard++;
      });
    }
    await events.waitUntilReady();
    return async () => {
      await events.close();
      checkHeard();
    };
  }

  /**
   * Says "a listener is here" on the Topiq listeners' channel now and every 500 ms (a
   * worker publishes while one came within 3.5 s), subscribing to nothing; resolves to a
   * stop function.
   */
  async #announce(spec: RunSpec): Promise<() => Promise<void>> {
    if (spec.system !== 'topiq') throw new Error('only a Topiq run can announce a listener');
    const channel = (await this.#driver(spec.keep)).keys.eventListenersChannel;
    const { redis } = this.#settings;
    await redis.publish(channel, 'here');
    const timer = setInterval(() => void redis.publish(channel, 'here').catch(() => {}), 500);
    return async () => clearInterval(timer);
  }

  /** Starts a worker process on the prefilled `queue` and frames its timed span. */
  async #work(spec: RunSpec, queue: string): Promise<QueueSample> {
    const { profileDir } = this.#settings;
    const args = [
      `--system=${spec.system}`,
      `--queue=${queue}`,
      `--prefix=${this.#topiqPrefix}`,
      `--jobs=${spec.jobs}`,
      `--concurrency=${spec.concurrency}`,
      `--keep=${spec.keep}`,
      ...(spec.events === undefined ? [] : [`--events=${spec.events ? 'on' : 'off'}`]),
      `--log=${this.#settings.logLevel}`,
      `--redis=${this.#settings.url}`,
      ...(profileDir
        ? [`--profile=${join(profileDir, `${spec.label}-${spec.system}-${queue}.cpuprofile`)}`]
        : []),
    ];
    const child = fork(WORKER_SCRIPT, args, {
      // --expose-gc: the worker runs a full GC before its clock (queue_worker_process.ts)
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const limit = setTimeout(() => child.kill(), 10 * 60_000);
    try {
      const { started, stopped, result } = await new Promise<{
        started: StartedClock;
        stopped: StoppedClock;
        result: WorkerProcessResult;
      }>((resolve, reject) => {
        let started: StartedClock | undefined;
        let done: Promise<{ stopped: StoppedClock; result: WorkerProcessResult }> | undefined;
        child.on('message', (message: WorkerProcessMessage) => {
          if (message.type === 'ready') {
            void this.#startClock().then((clock) => {
              started = clock;
              child.send('go');
            }, reject);
          } else if (message.type === 'done') {
            done = this.#stopClock(started!).then((stopped) => ({ stopped, result: message.result }));
          } else {
            reject(new Error(`the ${spec.system} worker process failed:\n${message.message}`));
          }
        });
        child.once('error', reject);
        child.once('exit', (code, signal) => {
          if (done && code === 0) done.then((end) => resolve({ started: started!, ...end }), reject);
          else
            reject(
              new Error(`the ${spec.system} worker process exited with ${signal ?? code} before finishing`),
            );
        });
      });
      return sampleOf(started, spec.jobs, stopped, result);
    } finally {
      clearTimeout(limit);
    }
  }

  async #startClock(): Promise<StartedClock> {
    const { redis, quiet } = this.#settings;
    await quiet.wait();
    const otherClients = (await foreignClients(redis)).length;
    const before = await snapshot(redis);
    const machine = await machineBusySeconds();
    return { at: performance.now(), cpu: process.cpuUsage(), redis: before, otherClients, machine };
  }

  async #stopClock(started: StartedClock): Promise<StoppedClock> {
    const { redis } = this.#settings;
    const at = performance.now();
    const cpu = process.cpuUsage(started.cpu);
    const machineNow = await machineBusySeconds();
    const after = await snapshot(redis);
    const otherClients = Math.max(started.otherClients, (await foreignClients(redis)).length);
    const machine =
      machineNow === undefined || started.machine === undefined ? undefined : machineNow - started.machine;
    return { at, cpu, redis: usageBetween(started.redis, after), otherClients, machine };
  }

  async #driver(keep: number): Promise<RedisQueueDriver> {
    let driver = this.#drivers.get(keep);
    if (!driver) {
      driver = new RedisQueueDriver({
        connection: benchConnection(this.#settings.url),
        prefix: this.#topiqPrefix,
        retention: { completedCount: keep },
      });
      this.#drivers.set(keep, driver);
      await driver.redis.ping();
    }
    return driver;
  }
}

interface Adder {
  add(start: number, end: number): Promise<unknown>;
  close(): Promise<void>;
}

/** Adds jobs 0..jobs-1 in batches of 1,000, `inFlight` batches at a time. */
async function addAll(adder: Adder, jobs: number, inFlight: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs) {
      const start = next;
      next = Math.min(jobs, next + BATCH);
      await adder.add(start, next);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

interface Clock {
  at: number;
  /** This process's CPU: since the epoch when started, during the run when stopped. */
  cpu: NodeJS.CpuUsage;
  otherClients: number;
  /** Busy CPU seconds of the machine: a total when started, during the run when stopped. */
  machine: number | undefined;
}

interface StartedClock extends Clock {
  redis: RedisSnapshot;
}

interface StoppedClock extends Clock {
  redis: RedisUsage;
}

/** A run's figures; `worker` is the worker process's report when one did the work. */
function sampleOf(
  started: StartedClock,
  jobs: number,
  stopped: StoppedClock,
  worker?: WorkerProcessResult,
): QueueSample {
  const wallSeconds = (stopped.at - started.at) / 1000;
  const benchCpu = (stopped.cpu.user + stopped.cpu.system) / 1e6;
  const seconds = worker?.seconds ?? wallSeconds;
  const clientCpu = worker?.cpuSeconds ?? benchCpu;
  const ours = stopped.redis.cpuSeconds + benchCpu + (worker ? worker.cpuSeconds : 0);
  return {
    jobs,
    seconds,
    rate: jobs / seconds,
    clientCpuPercent: (clientCpu / seconds) * 100,
    clientCpuSeconds: clientCpu,
    benchCpuSeconds: benchCpu,
    redisCpuPercent: (stopped.redis.cpuSeconds / wallSeconds) * 100,
    redis: stopped.redis,
    otherClients: stopped.otherClients,
    otherCpuPercent:
      stopped.machine === undefined ? undefined : (Math.max(0, stopped.machine - ours) / wallSeconds) * 100,
    ...(worker?.calls ? { calls: worker.calls } : {}),
    ...(worker ? { gcMs: worker.gcMs } : {}),
  };
}
