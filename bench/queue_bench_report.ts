/**
 * Markdown tables for the queue bench: the machine, the Topiq/BullMQ comparison against
 * its targets, the cost of keeping job records, and where each run spent its time.
 */
import { OTHER_CPU_LIMIT } from './quiet_machine.js';
import type { QueueBenchResult, QueueMeasurement, QueueSample, QueueScenario } from './queue_bench.js';
import { formatInterval, median, medianInterval, pairedRatios, verdict } from './statistics.js';

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/**
 * Microseconds per job in one run: CPU of the measured Node process, of the bench process
 * (the job-event listener in a process run), of Redis, and the worker's garbage collection
 * (0 when no worker process ran).
 */
export function cpuPerJob(sample: QueueSample): { client: number; bench: number; redis: number; gc: number } {
  const perJob = (seconds: number) => (seconds * 1e6) / sample.jobs;
  const gcMs = sample.gcMs ? sample.gcMs.young + sample.gcMs.old : 0;
  return {
    client: perJob(sample.clientCpuSeconds),
    bench: perJob(sample.benchCpuSeconds),
    redis: perJob(sample.redis.cpuSeconds),
    gc: perJob(gcMs / 1000),
  };
}

/** Issue #4: records and events on cost at most 10% of the jobs/s with both off. */
const RECORDS_TARGET = 0.9;

/**
 * The paired ratio of `on` to `off`, its 95% interval and the verdict against 0.9x (issue #4),
 * as ratios (`x`, 2 decimals) or percentages (`%`, whole).
 */
export function pairedCells(
  on: readonly number[],
  off: readonly number[],
  unit: 'x' | '%' = 'x',
): [string, string, string] {
  const ratios = pairedRatios(on, off);
  const interval = medianInterval(ratios);
  const [scale, digits] = unit === 'x' ? [1, 2] : [100, 0];
  return [
    `${(median(ratios) * scale).toFixed(digits)}${unit}`,
    formatInterval(interval, scale, digits, unit),
    verdict(interval, RECORDS_TARGET),
  ];
}

function ratio(scenario: QueueScenario): number {
  return scenario.topiq.median.rate / scenario.bullmq.median.rate;
}

function runs(measurement: QueueMeasurement): string {
  return measurement.samples.map((sample) => formatCount(sample.rate)).join(' / ');
}

function perJob(sample: QueueSample, value: number, digits = 2): string {
  return (value / sample.jobs).toFixed(digits);
}

/** Per run, the Redis commands it caused (inner script commands included), busiest first. */
function formatCommandDetails(scenarios: readonly QueueScenario[]): string {
  const out: string[] = [
    '\nRedis commands per job (median run; script commands include their inner commands):\n',
  ];
  for (const scenario of scenarios) {
    for (const measurement of [scenario.topiq, scenario.bullmq]) {
      const sample = measurement.median;
      const rows = sample.redis.byCommand
        .slice(0, 14)
        .map(([name, stat]) => [
          name,
          perJob(sample, stat.calls, 3),
          perJob(sample, stat.usec, 2),
          (stat.usec / stat.calls).toFixed(2),
        ]);
      out.push(`${scenario.id} ${measurement.system}:\n`);
      out.push(markdownTable(['command', 'calls/job', 'µs/job', 'µs/call'], rows));
      out.push('');
    }
  }
  return out.join('\n');
}

/** The bench's tables; `details` adds the per-command breakdown of every run. */
export function formatQueueBench(result: QueueBenchResult, options: { details?: boolean } = {}): string {
  const { machine, scenarios } = result;
  const out: string[] = [];
  out.push(`### Queue: Topiq vs BullMQ ${machine.bullmq}, no-op jobs, one Redis\n`);
  out.push(
    markdownTable(
      ['CPU', 'cores', 'Node', 'Redis', 'logging'],
      [[machine.cpu, String(machine.cores), machine.node, machine.redis, result.logging]],
    ),
  );
  out.push('');
  out.push(
    `Median of ${result.repeats} run(s); Topiq and BullMQ alternate. One worker process; both keep ` +
      '1,000 completed records and job events on unless "records and events off" (Topiq completedCount 0 and no events, BullMQ removeOnComplete: true; BullMQ always emits its events).\n',
  );
  out.push(
    markdownTable(
      ['measurement', 'jobs/run', 'Topiq jobs/s', 'BullMQ jobs/s', 'Topiq/BullMQ', 'target', 'met'],
      scenarios.map((scenario) => [
        scenario.label,
        formatCount(scenario.topiq.median.jobs),
        formatCount(scenario.topiq.median.rate),
        formatCount(scenario.bullmq.median.rate),
        `${ratio(scenario).toFixed(2)}x`,
        scenario.target === undefined ? '-' : `>= ${scenario.target}x`,
        scenario.target === undefined ? '-' : ratio(scenario) >= scenario.target ? 'yes' : 'NO',
      ]),
    ),
  );

  const kept = scenarios.find(
    (s) => s.kind === 'process' && s.concurrency === 50 && s.keep > 0 && !s.listener,
  );
  const listened = scenarios.find((s) => s.kind === 'process' && s.concurrency === 50 && s.listener);
  const off = scenarios.find((s) => s.kind === 'process' && s.concurrency === 50 && s.keep === 0);
  if (kept && off) {
    out.push(
      '\nCost of job records and events, concurrency 50. "On / off" divides the medians; "paired" ' +
        'is the median of the ratios of runs of the same round (steadier on a drifting machine), ' +
        'with its distribution-free 95% interval (order statistics; 6 rounds or more); the target ' +
        '(issue #4) is at most 10% fewer jobs/s with both on, met when the whole interval is at or above 0.90x. CPU is worker process plus ' +
        'Redis per job, medians. `npm run bench:records` runs more rounds of these modes.\n',
    );
    const rates = (measurement: QueueMeasurement) => measurement.samples.map((sample) => sample.rate);
    const cpu = (measurement: QueueMeasurement) =>
      median(
        measurement.samples.map((sample) => {
          const { client, redis } = cpuPerJob(sample);
          return client + redis;
        }),
      );
    const rows: string[][] = [];
    for (const on of listened ? [kept, listened] : [kept]) {
      for (const system of ['topiq', 'bullmq'] as const) {
        rows.push([
          system === 'topiq' ? 'Topiq' : 'BullMQ',
          on.listener ? 'a job-event listener subscribed' : 'nobody listening to job events',
          formatCount(on[system].median.rate),
          formatCount(off[system].median.rate),
          `${(on[system].median.rate / off[system].median.rate).toFixed(2)}x`,
          ...pairedCells(rates(on[system]), rates(off[system])),
          `${cpu(on[system]).toFixed(1)} / ${cpu(off[system]).toFixed(1)}`,
        ]);
      }
    }
    out.push(
      markdownTable(
        [
          'system',
          'records + events on, with',
          'on jobs/s',
          'records + events off jobs/s',
          'on / off',
          'on / off, paired',
          '95% interval',
          '>= 0.90x',
          'CPU µs/job on / off',
        ],
        rows,
      ),
    );
  }

  out.push(
    '\nWhere the time goes (the median run). CPU in % of one core. Client = the dispatching bench ' +
      'process or the worker process; other = every other process on the machine; Redis commands ' +
      'include those run inside Lua scripts.\n',
  );
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    for (const measurement of [scenario.topiq, scenario.bullmq]) {
      const sample = measurement.median;
      const { redis } = sample;
      const calls = sample.calls;
      rows.push([
        `${scenario.id} ${measurement.system}`,
        runs(measurement),
        `${sample.clientCpuPercent.toFixed(0)}%`,
        `${sample.redisCpuPercent.toFixed(0)}%`,
        sample.otherCpuPercent === undefined ? '-' : `${sample.otherCpuPercent.toFixed(0)}%`,
        perJob(sample, redis.scriptCalls, 3),
        perJob(sample, redis.commands, 1),
        redis.scriptCalls === 0 ? '-' : (redis.scriptUsec / redis.scriptCalls).toFixed(0),
        perJob(sample, redis.scriptUsec, 1),
        calls
          ? `${(calls.reserved / calls.reserve).toFixed(1)} / ${(calls.completed / calls.complete).toFixed(1)}`
          : '-',
        calls && calls.socketWrites > 0
          ? `${perJob(sample, calls.socketWrites, 3)} / ${(calls.socketWriteUs / calls.socketWrites).toFixed(0)}`
          : '-',
      ]);
    }
  }
  out.push(
    markdownTable(
      [
        'run',
        'jobs/s of each run',
        'client CPU',
        'redis-server CPU',
        'other CPU',
        'script calls/job',
        'Redis commands/job',
        'µs/script call',
        'script µs/job',
        'jobs per reserve / per complete',
        'socket writes/job / µs per write',
      ],
      rows,
    ),
  );
  const samples = scenarios.flatMap((scenario) => [...scenario.topiq.samples, ...scenario.bullmq.samples]);
  const sharedRedis = samples.filter((sample) => sample.otherClients > 0).length;
  const busyMachine = samples.filter((sample) => (sample.otherCpuPercent ?? 0) > OTHER_CPU_LIMIT).length;
  if (sharedRedis > 0) {
    out.push(
      `\nWARNING: ${sharedRedis} of ${samples.length} runs had other programs connected to this Redis; ` +
        'their load skews the rates and command counts. Re-run on an otherwise idle Redis.',
    );
  }
  if (busyMachine > 0) {
    out.push(
      `\nWARNING: in ${busyMachine} of ${samples.length} runs other processes used more than 15% of a ` +
        'core; the rates are lower than this machine can do.',
    );
  }
  if (options.details) out.push(formatCommandDetails(scenarios));
  return out.join('\n');
}
