/**
 * `npm run bench`: the queue bench (Topiq vs BullMQ on Redis), the topic routing bench and
 * the MQTT ingest bench (skipped when Mosquitto is not listening), printed as markdown.
 *
 *   npm run bench                        everything (a few minutes)
 *   npm run bench -- --only=queue        one bench: queue, routing, mqtt or e2e (comma-separated for more)
 *   npm run bench -- --quick             small sizes, one run each: a smoke test
 *   npm run bench -- --repeats=5         runs per queue figure (default 3; the median is shown)
 *   npm run bench -- --details           adds the queue bench's Redis command breakdown
 *   npm run bench -- --profile-dir=DIR   CPU profiles of the queue bench's worker processes
 *
 * Progress goes to stderr, tables to stdout. Every connection is closed, so the process
 * ends by itself.
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { formatE2eBench, runE2eBench } from './e2e_bench.js';
import { type MqttIngestBenchOptions, runMqttIngestBench } from './mqtt_ingest_bench.js';
import { formatCount, formatQueueBench, markdownTable } from './queue_bench_report.js';
import { runQueueBench } from './queue_bench.js';
import { runNaiveRegexBench, runRoutingBench } from './routing_bench.js';

const BENCHES = ['queue', 'routing', 'mqtt', 'e2e'] as const;
type BenchName = (typeof BENCHES)[number];

const MQTT_URL = 'mqtt://127.0.0.1:1883';

/** A wrong flag: reported in one line, without a stack trace. */
class UsageError extends Error {
  override name = 'UsageError';
}

interface Flags {
  only: BenchName[];
  quick: boolean;
  details: boolean;
  repeats: number | undefined;
  profileDir: string | undefined;
}

function parseFlags(): Flags {
  const { values } = parseArgs({
    strict: true,
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      details: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      'profile-dir': { type: 'string' },
    },
  });
  const only = (values.only ?? BENCHES.join(',')).split(',').map((name) => name.trim());
  const unknown = only.filter((name) => !(BENCHES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new UsageError(`--only takes ${BENCHES.join(', ')} (comma-separated); got ${unknown.join(', ')}`);
  }
  const repeats = values.repeats === undefined ? undefined : Number(values.repeats);
  if (repeats !== undefined && (!Number.isInteger(repeats) || repeats < 1)) {
    throw new UsageError(`--repeats takes a whole number >= 1; got ${values.repeats}`);
  }
  return {
    only: only as BenchName[],
    repeats,
    quick: values.quick,
    details: values.details,
    profileDir: values['profile-dir'],
  };
}

async function queueSection({ quick, details, repeats, profileDir }: Flags): Promise<string> {
  const result = await runQueueBench({
    quick,
    ...(repeats !== undefined ? { repeats } : {}),
    ...(profileDir !== undefined ? { profileDir } : {}),
  });
  return formatQueueBench(result, { details });
}

async function routingSection(quick: boolean): Promise<string> {
  const trie = await runRoutingBench();
  const naive = quick ? undefined : await runNaiveRegexBench();
  const rows = trie.map((row, index) => {
    const baseline = naive?.[index];
    return [
      formatCount(row.routes),
      formatCount(row.matchesPerSecond),
      row.nsPerMatch.toFixed(0),
      ...(baseline
        ? [
            formatCount(baseline.matchesPerSecond),
            baseline.nsPerMatch.toFixed(0),
            `${(baseline.nsPerMatch / row.nsPerMatch).toFixed(1)}x`,
          ]
        : []),
    ];
  });
  const header = ['routes', 'trie matches/s', 'trie ns/match'];
  if (naive) header.push('regex-scan matches/s', 'regex-scan ns/match', 'trie speed-up');
  return [
    '### Topic routing: matches per second of CPU time (best of 5 rounds)\n',
    markdownTable(header, rows),
    ...(quick ? ['\n(--quick: the regex-scan baseline is skipped)'] : []),
  ].join('\n');
}

/** Resolves whether something accepts TCP connections at `host:port` within `timeoutMs`. */
function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function mqttSection(quick: boolean): Promise<string> {
  const { hostname, port } = new URL(MQTT_URL);
  if (!(await reachable(hostname, Number(port)))) {
    return `### MQTT ingest\n\nskipped: no MQTT broker listening on ${hostname}:${port} (start Mosquitto to run it)`;
  }
  const messages = quick ? 5_000 : 50_000;
  const runs: MqttIngestBenchOptions[] = quick
    ? [
        { messages, subscriber: 'mqtt.js auto-ack' },
        { messages, maxInFlight: 1000 },
      ]
    : [
        { messages, subscriber: 'mqtt.js auto-ack' },
        { messages, maxInFlight: 1000 },
        { messages, maxInFlight: 1000, publishWindow: 100 },
        { messages, maxInFlight: 100 },
        { messages, maxInFlight: 1000, protocolVersion: 4 },
        { messages: 2_000, maxInFlight: 1 },
      ];
  const rows: string[][] = [];
  for (const options of runs) {
    const result = await runMqttIngestBench({ url: MQTT_URL, ...options });
    process.stderr.write(`  mqtt ${result.label}: ${Math.round(result.messagesPerSecond)} msg/s\n`);
    rows.push([
      result.label,
      `${formatCount(result.received)}/${formatCount(result.messages)}`,
      formatCount(result.messagesPerSecond),
      String(result.lost),
      String(result.duplicates),
      formatCount(result.writes),
      result.meanBatch.toFixed(1),
      String(result.largestBatch),
      `${(result.subscriberLoopUtilization * 100).toFixed(0)}%`,
    ]);
  }
  return [
    `### MQTT ingest through Mosquitto (${MQTT_URL}), QoS 1, 1 ms simulated write per batch\n`,
    markdownTable(
      ['run', 'received', 'msg/s', 'lost', 'dup', 'writes', 'mean batch', 'largest batch', 'loop busy'],
      rows,
    ),
  ].join('\n');
}

async function e2eSection(quick: boolean): Promise<string> {
  const { hostname, port } = new URL(MQTT_URL);
  if (!(await reachable(hostname, Number(port)))) {
    return `### End to end\n\nskipped: no MQTT broker listening on ${hostname}:${port} (start Mosquitto to run it)`;
  }
  return formatE2eBench(await runE2eBench({ quick }));
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const { only, quick } = flags;
  const started = performance.now();
  const sections: Record<BenchName, () => Promise<string>> = {
    queue: () => queueSection(flags),
    routing: () => routingSection(quick),
    mqtt: () => mqttSection(quick),
    e2e: () => e2eSection(quick),
  };
  for (const name of BENCHES) {
    if (!only.includes(name)) continue;
    process.stderr.write(`running the ${name} bench${quick ? ' (quick)' : ''}...\n`);
    console.log(`${await sections[name]()}\n`);
  }
  process.stderr.write(`bench finished in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  if (flags.profileDir) process.stderr.write(`worker CPU profiles are in ${flags.profileDir}\n`);
}

try {
  await main();
} catch (error) {
  const code = (error as { code?: unknown }).code;
  const usage =
    error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
  console.error(
    usage
      ? `bench: ${(error as Error).message}`
      : error instanceof Error
        ? (error.stack ?? error.message)
        : error,
  );
  process.exitCode = 1;
}
