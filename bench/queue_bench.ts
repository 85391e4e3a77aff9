/**
 * Topiq's Redis queue against BullMQ on one Redis, with no-op jobs:
 *
 * - bulk dispatch: `dispatcher.dispatchMany` vs `queue.addBulk`, batches of 1,000, one in flight;
 * - processing: one worker process (./queue_worker_process.ts) at concurrency 1 and 50 over
 *   a prefilled queue, timed from the worker's start until every job is completed;
 * - the cost of job records and events: completed records kept (1,000) and events on, with
 *   nobody listening to them (the default) and with a listener subscribed, vs records
 *   deleted at once and no events.
 *
 * Both keep 1,000 completed records (Topiq `completedCount: 1000`, BullMQ
 * `removeOnComplete: { count: 1000 }`). Topiq and BullMQ runs alternate, sizes are
 * calibrated so the faster side runs about 2.5 s, and each figure is the median of 3 runs.
 * A run starts once the machine is quiet and is repeated (up to twice) when another
 * program used Redis or the CPU meanwhile (./quiet_machine.ts). The runs themselves are in
 * ./queue_bench_runs.ts, the tables in ./queue_bench_report.ts.
 *
 * Run: `npm run bench -- --only=queue [--quick] [--details] [--profile-dir=/tmp/prof]`
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { formatQueueBench } from './queue_bench_report.js';
import { type QueueSample, QueueRuns, type QueueSystem } from './queue_bench_runs.js';
import { OTHER_CPU_LIMIT, QuietMachine } from './quiet_machine.js';
import { benchConnection, redisVersion } from './redis_stats.js';

export type { QueueSample, QueueSystem } from './queue_bench_runs.js';

export interface QueueBenchOptions {
  /** Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Runs per figure; the median is reported. Default 3 (1 with `quick`). */
  repeats?: number;
  /** Shortest run wanted for the faster system, in seconds. Default 2. */
  minSeconds?: number;
  /** Small fixed sizes, one run each, no calibration: a smoke test. */
  quick?: boolean;
  /** Worker log level, `warn` (default) or `silent`. BullMQ has no logger. */
  logLevel?: 'warn' | 'silent';
  /** Write a V8 CPU profile of each worker process's timed span into this directory. */
  profileDir?: string;
  /** Progress lines; default stderr. */
  progress?: (line: string) => void;
}

/** Repeated runs of one system in one scenario; `median` is the run with the median rate. */
export interface QueueMeasurement {
  system: QueueSystem;
  samples: QueueSample[];
  median: QueueSample;
}

export interface QueueScenario {
  id: string;
  label: string;
  kind: 'dispatch' | 'process';
  concurrency: number;
  /** Completed records kept per queue (0: deleted on completion). */
  keep: number;
  /** Topiq/BullMQ ratio this figure should reach, if it has a target. */
  target?: number;
  /** A job-event listener subscribed in the bench process during the runs. */
  listener?: boolean;
  topiq: QueueMeasurement;
  bullmq: QueueMeasurement;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  redis: string;
  bullmq: string;
}

export interface QueueBenchResult {
  machine: MachineInfo;
  logging: string;
  repeats: number;
  scenarios: QueueScenario[];
}

interface ScenarioPlan {
  id: string;
  label: string;
  kind: 'dispatch' | 'process';
  concurrency: number;
  keep: number;
  target?: number;
  listener?: boolean;
  probeJobs: number;
  quickJobs: number;
}

const PLANS: ScenarioPlan[] = [
  {
    id: 'dispatch',
    label: 'bulk dispatch, batches of 1,000',
    kind: 'dispatch',
    concurrency: 0,
    keep: 1000,
    target: 2,
    probeJobs: 20_000,
    quickJobs: 10_000,
  },
  {
    id: 'c1',
    label: 'processed, concurrency 1',
    kind: 'process',
    concurrency: 1,
    keep: 1000,
    probeJobs: 3_000,
    quickJobs: 2_000,
  },
  {
    id: 'c50',
    label: 'processed, concurrency 50',
    kind: 'process',
    concurrency: 50,
    keep: 1000,
    target: 4,
    probeJobs: 20_000,
    quickJobs: 10_000,
  },
  // run between the two 'on' modes it is compared with, so drift within a round hits all three alike
  {
    id: 'c50-off',
    label: 'processed, concurrency 50, records and events off',
    kind: 'process',
    concurrency: 50,
    keep: 0,
    probeJobs: 20_000,
    quickJobs: 10_000,
  },
  {
    id: 'c50-listener',
    label: 'processed, concurrency 50, a job-event listener subscribed',
    kind: 'process',
    concurrency: 50,
    keep: 1000,
    listener: true,
    probeJobs: 20_000,
    quickJobs: 10_000,
  },
];
const BATCH = 1000;

/** Runs every scenario and returns the measurements; format them with {@link formatQueueBench}. */
export async function runQueueBench(options: QueueBenchOptions = {}): Promise<QueueBenchResult> {
  const bench = new QueueBench(options);
  try {
    return await bench.run();
  } finally {
    await bench.close();
  }
}

class QueueBench {
  readonly #url: string;
  readonly #quick: boolean;
  readonly #repeats: number;
  readonly #minSeconds: number;
  readonly #logLevel: 'warn' | 'silent';
  readonly #progress: (line: string) => void;
  readonly #redis: Redis;
  readonly #runs: QueueRuns;

  constructor(options: QueueBenchOptions) {
    this.#url = options.redisUrl ?? 'redis://127.0.0.1:6379';
    this.#quick = options.quick ?? false;
    this.#repeats = options.repeats ?? (this.#quick ? 1 : 3);
    this.#minSeconds = options.minSeconds ?? 2;
    this.#logLevel = options.logLevel ?? 'warn';
    this.#progress = options.progress ?? ((line) => process.stderr.write(`${line}\n`));
    this.#redis = new Redis({ ...benchConnection(this.#url), lazyConnect: true, maxRetriesPerRequest: 1 });
    this.#runs = new QueueRuns(randomBytes(4).toString('hex'), {
      url: this.#url,
      redis: this.#redis,
      // A smoke test does not wait long for a busy machine, nor repeat disturbed runs.
      quiet: new QuietMachine(this.#redis, this.#progress, this.#quick ? 20_000 : 300_000),
      logLevel: this.#logLevel,
      profileDir: options.profileDir,
    });
  }

  async run(): Promise<QueueBenchResult> {
    await this.#redis.connect();
    const machine: MachineInfo = {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      redis: await redisVersion(this.#redis),
      bullmq: (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version,
    };
    const sizes = new Map<string, number>();
    for (const plan of PLANS) sizes.set(plan.id, this.#quick ? plan.quickJobs : await this.#calibrate(plan));
    const samples = new Map<string, QueueSample[]>();
    for (let round = 0; round < this.#repeats; round++) {
      // Alternate which system goes first, so drift over the run hits both alike.
      const order: QueueSystem[] = round % 2 === 0 ? ['topiq', 'bullmq'] : ['bullmq', 'topiq'];
      for (const plan of PLANS) {
        for (const system of order) {
          const key = `${plan.id}/${system}`;
          samples.set(key, [
            ...(samples.get(key) ?? []),
            await this.#measureUndisturbed(plan, system, sizes),
          ]);
        }
      }
    }
    const measurement = (plan: ScenarioPlan, system: QueueSystem): QueueMeasurement => {
      const list = samples.get(`${plan.id}/${system}`)!;
      const sorted = [...list].sort((a, b) => a.rate - b.rate);
      return { system, samples: list, median: sorted[Math.floor(sorted.length / 2)]! };
    };
    return {
      machine,
      logging: `Topiq worker pino level "${this.#logLevel}"; BullMQ has no logger (nothing logged)`,
      repeats: this.#repeats,
      scenarios: PLANS.map((plan) => ({
        id: plan.id,
        label: plan.label,
        kind: plan.kind,
        concurrency: plan.concurrency,
        keep: plan.keep,
        ...(plan.target !== undefined ? { target: plan.target } : {}),
        ...(plan.listener ? { listener: true } : {}),
        topiq: measurement(plan, 'topiq'),
        bullmq: measurement(plan, 'bullmq'),
      })),
    };
  }

  /** One run; repeated (up to twice, unless quick) when other programs disturbed it. */
  async #measureUndisturbed(
    plan: ScenarioPlan,
    system: QueueSystem,
    sizes: ReadonlyMap<string, number>,
  ): Promise<QueueSample> {
    const attempts = this.#quick ? 1 : 3;
    for (let attempt = 1; ; attempt++) {
      const sample = await this.#runs.run({
        kind: plan.kind,
        system,
        jobs: sizes.get(plan.id)!,
        concurrency: plan.concurrency,
        keep: plan.keep,
        ...(plan.listener ? { listener: true } : {}),
        label: plan.id,
      });
      const disturbed = QuietMachine.disturbed(sample);
      const why = [
        ...(sample.otherClients > 0 ? [`${sample.otherClients} other Redis client(s)`] : []),
        ...(sample.otherCpuPercent !== undefined && sample.otherCpuPercent > OTHER_CPU_LIMIT
          ? [`other processes at ${sample.otherCpuPercent.toFixed(0)}% CPU`]
          : []),
      ];
      this.#progress(
        `  ${plan.id} ${system}: ${Math.round(sample.rate)} jobs/s (${sample.jobs} in ${sample.seconds.toFixed(2)} s)` +
          (disturbed ? ` - disturbed: ${why.join(', ')}${attempt < attempts ? ', repeating' : ''}` : ''),
      );
      if (!disturbed || attempt >= attempts) return sample;
    }
  }

  async close(): Promise<void> {
    try {
      await this.#runs.close();
    } finally {
      this.#redis.disconnect();
    }
  }

  /** Jobs per run: both systems get the same count, enough for the faster one to run ~1.25 x minSeconds. */
  async #calibrate(plan: ScenarioPlan): Promise<number> {
    let fastest = 0;
    for (const system of ['topiq', 'bullmq'] as const) {
      const probe = await this.#measureUndisturbed(plan, system, new Map([[plan.id, plan.probeJobs]]));
      fastest = Math.max(fastest, probe.rate);
    }
    const jobs = Math.max(BATCH, Math.ceil((fastest * this.#minSeconds * 1.25) / BATCH) * BATCH);
    this.#progress(
      `calibrated ${plan.id}: ${jobs} jobs per run (fastest probe ${Math.round(fastest)} jobs/s)`,
    );
    return jobs;
  }
}

async function main(): Promise<void> {
  const result = await runQueueBench({ quick: process.argv.includes('--quick') });
  console.log(formatQueueBench(result, { details: process.argv.includes('--details') }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
