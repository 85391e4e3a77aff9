/**
 * Markdown tables for the end-to-end bench: the machine and layout, the results of both
 * systems with identical columns, the targets, where the CPU went, and what Redis did.
 */
import type { E2eBenchResult } from './e2e_bench.js';
import type { E2eMeasurement, LoopFigures } from './e2e_run.js';
import { formatCount, markdownTable } from './queue_bench_report.js';

/** Lost messages allowed, lowest sustained rate and highest p99 (ms) for Topiq's `rate` runs. */
export const E2E_TARGETS = { lost: 0, rate: 10_000, p99Ms: 50 } as const;

const ms = (value: number): string => (value < 10 ? value.toFixed(1) : value.toFixed(0));
const percent = (value: number | undefined): string => (value === undefined ? '?' : value.toFixed(0));

function load(row: E2eMeasurement): string {
  return row.mode === 'rate' ? `rate ${formatCount(row.offered)}/s` : `max (${row.offered} in flight/device)`;
}

/** Whether a Topiq `rate` run met the targets, and why not. */
export function targetVerdict(row: E2eMeasurement): { met: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (row.lost > E2E_TARGETS.lost) reasons.push(`${row.lost} lost`);
  if (row.handledRate < E2E_TARGETS.rate * 0.98) {
    reasons.push(`handled ${formatCount(row.handledRate)} msg/s < ${formatCount(E2E_TARGETS.rate)}`);
  }
  if (row.latency.p99 >= E2E_TARGETS.p99Ms)
    reasons.push(`p99 ${ms(row.latency.p99)} ms ≥ ${E2E_TARGETS.p99Ms}`);
  return { met: reasons.length === 0, reasons };
}

/** Per run, the per-second counters: where the backlog was (broker, Redis) and how fast handle() ran. */
function formatTimelines(measurements: readonly E2eMeasurement[]): string {
  const out: string[] = [
    '\nTimelines (cumulative counts; "in broker" = acknowledged to devices − taken by the ingest, ' +
      '"in Redis" = jobs waiting):\n',
  ];
  for (const row of measurements) {
    out.push(`${row.label}, ${load(row)}:\n`);
    let previous = 0;
    out.push(
      markdownTable(
        ['s', 'acknowledged', 'ingest took', 'in broker', 'in Redis', 'handled', 'handled/s'],
        row.timeline.map((point, index) => {
          const seconds = point.second - (row.timeline[index - 1]?.second ?? 0);
          const rate = seconds > 0 ? (point.handled - previous) / seconds : 0;
          previous = point.handled;
          return [
            point.second.toFixed(1),
            formatCount(point.acknowledged),
            formatCount(point.received),
            formatCount(Math.max(0, point.acknowledged - point.received)),
            formatCount(point.waiting),
            formatCount(point.handled),
            formatCount(rate),
          ];
        }),
      ),
    );
    out.push('\nLatency by the second messages were published in:\n');
    out.push(
      markdownTable(
        ['s', 'messages', 'slowest ms', 'over 50 ms', 'devices behind schedule, worst ms'],
        row.latencyBySecond.map((bucket) => [
          String(bucket.second),
          formatCount(bucket.count),
          ms(bucket.maxMs),
          formatCount(bucket.over50),
          row.mode === 'rate' ? ms(row.publisherLagBySecond[bucket.second] ?? 0) : '-',
        ]),
      ),
    );
    out.push('');
  }
  return out.join('\n');
}

/** The bench's tables; `details` adds each run's per-second timeline. */
/** With repeated runs: per contender and load, every run's figures side by side and the median. */
function formatRepeats(measurements: readonly E2eMeasurement[]): string | undefined {
  const groups = new Map<string, E2eMeasurement[]>();
  for (const row of measurements) {
    const key = `${row.label}|${load(row)}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  if (![...groups.values()].some((rows) => rows.length > 1)) return undefined;
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  const runs = (rows: E2eMeasurement[], pick: (row: E2eMeasurement) => string): string =>
    rows.map(pick).join(' / ');
  const rows = [...groups.values()].map((group) => [
    group[0]!.label,
    load(group[0]!),
    String(group.length),
    formatCount(median(group.map((row) => row.handledRate))),
    runs(group, (row) => formatCount(row.lost)),
    ms(median(group.map((row) => row.latency.p50))),
    ms(median(group.map((row) => row.latency.p99))),
    runs(group, (row) => ms(row.latency.p99)),
  ]);
  return [
    '\nAcross repeated runs (medians; per-run values in run order):\n',
    markdownTable(
      ['system', 'load', 'runs', 'handled msg/s', 'lost per run', 'p50 ms', 'p99 ms', 'p99 per run'],
      rows,
    ),
  ].join('\n');
}

/** `busy% (delay p99/max ms, GC max ms)` of a child's event loop. */
function loopCell(loop: LoopFigures): string {
  return (
    `${(loop.loopUtilization * 100).toFixed(0)}% ` +
    `(${ms(loop.loopDelayP99Ms)}/${ms(loop.loopDelayMaxMs)}, ${ms(loop.gcMaxMs)})`
  );
}

function describeEvents(events: readonly string[]): string {
  const describe = (mode: string): string =>
    mode === 'mqtt'
      ? '`topiq` = job events on and every one bridged to MQTT (JOB_EVENTS_TOPIC=on, opt-in)'
      : mode === 'redis'
        ? '`topiq (events not bridged)` = the defaults (job events on, no MQTT bridge)'
        : '`topiq (events off)` = QUEUE_EVENTS=off';
  return events.map(describe).join('; ');
}

export function formatE2eBench(result: E2eBenchResult, options: { details?: boolean } = {}): string {
  const { machine, settings, measurements } = result;
  const out: string[] = [];
  out.push(
    `### End to end: ${settings.devices} devices → Mosquitto → ingest → Redis → worker → handle(), QoS 1\n`,
  );
  out.push(
    markdownTable(
      ['CPU', 'cores', 'Node', 'Redis', 'Mosquitto', 'BullMQ', 'mqtt.js'],
      [
        [
          machine.cpu,
          String(machine.cores),
          machine.node,
          machine.redis,
          machine.mosquitto,
          machine.bullmq,
          machine.mqtt,
        ],
      ],
    ),
  );
  out.push(
    `\nLayout: ${result.layout}. ${settings.durationSeconds} s of publishing per run; worker concurrency ` +
      `${settings.concurrency}; ${describeEvents(settings.events)}; Topiq MQTT maxInFlight ` +
      `${settings.maxInFlight ?? '20000 (MQTT_MAX_IN_FLIGHT default)'}. Lost = acknowledged publishes whose (device, seq) never ` +
      'reached handle() after the pipeline drained; latency = publish call to handle() start (first handling), ' +
      'split at the moment the ingest took the message from the broker.\n',
  );
  out.push(
    markdownTable(
      [
        'system',
        'load',
        'published msg/s',
        'handled msg/s',
        'published',
        'lost',
        'never reached ingest',
        'dup',
        'p50 ms',
        'p99 ms',
        'max ms',
        'to ingest p50 / p99',
        'ingest to handle() p50 / p99',
      ],
      measurements.map((row) => [
        row.label + (row.disturbed ? ' (disturbed)' : ''),
        load(row),
        formatCount(row.publishRate),
        formatCount(row.handledRate),
        formatCount(row.published) + (row.publishErrors > 0 ? ` (${row.publishErrors} failed)` : ''),
        formatCount(row.lost),
        formatCount(Math.max(0, row.published - row.app.received)),
        formatCount(row.duplicates),
        ms(row.latency.p50),
        ms(row.latency.p99),
        ms(row.latency.max),
        `${ms(row.toIngest.p50)} / ${ms(row.toIngest.p99)}`,
        `${ms(row.toHandle.p50)} / ${ms(row.toHandle.p99)}`,
      ]),
    ),
  );
  const repeated = formatRepeats(measurements);
  if (repeated) out.push(repeated);
  const checked = measurements.filter((row) => row.system === 'topiq' && row.mode === 'rate');
  if (checked.length > 0) {
    out.push(
      `\nTargets (Topiq, rate runs): 0 lost at ≥ ${formatCount(E2E_TARGETS.rate)} msg/s handled, p99 < ${E2E_TARGETS.p99Ms} ms`,
    );
    for (const row of checked) {
      const verdict = targetVerdict(row);
      const at = row.offered < E2E_TARGETS.rate ? ` (offered only ${formatCount(row.offered)} msg/s)` : '';
      out.push(
        `- ${row.label}, ${load(row)}: ${verdict.met ? 'met' : `NOT met: ${verdict.reasons.join(', ')}`}${at}`,
      );
    }
  }
  out.push(
    '\nCPU over the publishing window, % of one core (machine total out of ' +
      `${machine.cores * 100}); loops: busy % (event-loop delay p99/max ms, longest GC pause ms):\n`,
  );
  out.push(
    markdownTable(
      [
        'system',
        'load',
        'devices',
        'ingest',
        'worker',
        'redis',
        'mosquitto',
        'other',
        'machine',
        'ingest loop',
        'worker loop',
      ],
      measurements.map((row) => [
        row.label,
        load(row),
        percent(row.cpu.publishers),
        percent(row.cpu.app),
        percent(row.cpu.worker),
        percent(row.cpu.redis),
        percent(row.cpu.mosquitto),
        percent(row.cpu.other),
        percent(row.cpu.machine),
        loopCell(row.loop.app),
        loopCell(row.loop.worker),
      ]),
    ),
  );
  out.push('\nRedis per published message over the publishing window (top commands by time):\n');
  out.push(
    markdownTable(
      [
        'system',
        'load',
        'commands/msg',
        'script calls/msg',
        'Redis CPU µs/msg',
        'top commands (calls/msg, µs/call)',
      ],
      measurements.map((row) => {
        const per = Math.max(1, row.published);
        return [
          row.label,
          load(row),
          (row.redis.commands / per).toFixed(2),
          (row.redis.scriptCalls / per).toFixed(3),
          ((row.redis.cpuSeconds * 1e6) / per).toFixed(1),
          row.redis.byCommand
            .slice(0, 4)
            .map(
              ([name, stat]) =>
                `${name} ${(stat.calls / per).toFixed(2)}, ${(stat.usec / stat.calls).toFixed(1)}`,
            )
            .join('; '),
        ];
      }),
    ),
  );
  if (options.details) out.push(formatTimelines(measurements));
  out.push(`\n(bench took ${result.seconds.toFixed(0)} s)`);
  return out.join('\n');
}
