/**
 * `npm run bench:records`: what job records and job events each cost a Topiq worker. The
 * queue bench compares "records and events on" with "both off"; this one runs five modes
 * (1,000 completed records kept or none; events off, on with nobody listening, or on with a
 * listener subscribed in the bench process, which decodes them as an app would) with one worker
 * process at concurrency 50 over a prefilled queue of no-op jobs, alternating the modes in
 * every round so drift on a noisy machine hits all five alike, and prints the median of each:
 * jobs/s, and the CPU time per job of the worker process and of Redis, which moves far less
 * than wall-clock rates on a shared VM and says on which side a mode's cost lands.
 *
 *   npm run bench:records                           5 rounds of 100,000 jobs per mode
 *   npm run bench:records -- --rounds=3 --jobs=50000
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { cpuPerJob, formatCount, markdownTable, median, pairedRatio } from './queue_bench_report.js';
import { type QueueSample, QueueRuns } from './queue_bench_runs.js';
import { QuietMachine } from './quiet_machine.js';
import { benchConnection } from './redis_stats.js';

const MODES = [
  { label: 'records and events on, nobody listening', keep: 1000, events: true, listener: false },
  { label: 'records and events on, a listener', keep: 1000, events: true, listener: true },
  { label: 'records on, events off', keep: 1000, events: false, listener: false },
  { label: 'records off, events on, a listener', keep: 0, events: true, listener: true },
  { label: 'records and events off', keep: 0, events: false, listener: false },
] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      jobs: { type: 'string', default: '100000' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
    strict: true,
  });
  const rounds = Number(values.rounds);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds takes a whole number >= 1; got ${values.rounds}`);
  if (!Number.isInteger(jobs) || jobs < 1000)
    throw new Error(`--jobs takes a whole number >= 1000; got ${values.jobs}`);
  const redis = new Redis(benchConnection(values.redis));
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const runs = new QueueRuns(randomBytes(4).toString('hex'), {
    url: values.redis,
    redis,
    quiet: new QuietMachine(redis, progress),
    logLevel: 'warn',
  });
  const samples = MODES.map(() => [] as QueueSample[]);
  try {
    for (let round = 0; round < rounds; round++) {
      // each round starts with another mode, so no mode always runs last (or first)
      for (let step = 0; step < MODES.length; step++) {
        const index = (round + step) % MODES.length;
        const mode = MODES[index]!;
        const sample = await runs.run({
          kind: 'process',
          system: 'topiq',
          jobs,
          concurrency: 50,
          keep: mode.keep,
          events: mode.events,
          listener: mode.listener,
          label: mode.label,
        });
        samples[index]!.push(sample);
        const cpu = cpuPerJob(sample);
        progress(
          `  ${mode.label}: ${formatCount(sample.rate)} jobs/s, per job: worker CPU ${cpu.client.toFixed(2)} µs ` +
            `(GC ${cpu.gc.toFixed(2)}), Redis CPU ${cpu.redis.toFixed(2)} µs`,
        );
      }
    }
  } finally {
    await runs.close();
    redis.disconnect();
  }
  // CPU per job of the worker process and of Redis moves far less than wall-clock rates on a
  // shared VM, and says on which side a mode's cost lands
  const rates = (index: number) => samples[index]!.map((sample) => sample.rate);
  const perJob = (index: number, part: 'client' | 'redis' | 'gc') =>
    median(samples[index]!.map((sample) => cpuPerJob(sample)[part]));
  const cpu = (index: number) => perJob(index, 'client') + perJob(index, 'redis');
  const off = MODES.length - 1;
  console.log(
    `### Cost of job records and events, Topiq, concurrency 50 (${rounds} rounds of the five modes, ${formatCount(jobs)} no-op jobs per run)\n`,
  );
  console.log(
    'Medians. "Paired" is the median of the ratios to the "both off" run of the same round, steadier ' +
      "than the ratio of medians when the machine drifts. GC is the worker's garbage collection, part of its CPU.\n",
  );
  console.log(
    markdownTable(
      [
        'mode',
        'jobs/s',
        'runs',
        'vs both off',
        'vs both off, paired',
        'worker CPU µs/job',
        'worker GC µs/job',
        'Redis CPU µs/job',
        'CPU per job vs both off',
      ],
      MODES.map((mode, index) => [
        mode.label,
        formatCount(median(rates(index))),
        rates(index).map(formatCount).join(' / '),
        `${((median(rates(index)) / median(rates(off))) * 100).toFixed(0)}%`,
        `${(pairedRatio(rates(index), rates(off)) * 100).toFixed(0)}%`,
        perJob(index, 'client').toFixed(2),
        perJob(index, 'gc').toFixed(2),
        perJob(index, 'redis').toFixed(2),
        `${((cpu(index) / cpu(off)) * 100).toFixed(0)}%`,
      ]),
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
