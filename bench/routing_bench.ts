/**
 * How fast the trie router matches topics as the route table grows, next to a naive
 * router that tries every route's compiled regex in turn. The trie should stay flat
 * (cost follows topic depth, not route count); the naive scan falls off linearly.
 *
 * Run: `node --import tsx bench/routing_bench.ts`
 */
import { pathToFileURL } from 'node:url';
import {
  compilePattern,
  type PatternLevel,
  type RouteMatch,
  type RouteParams,
  type TopicRouter,
  TrieRouter,
} from '../core/routing/index.js';

export interface RoutingBenchResult {
  routes: number;
  matchesPerSecond: number;
  nsPerMatch: number;
}

const RANK: Record<PatternLevel['kind'], number> = { literal: 0, param: 1, plus: 1, rest: 2, hash: 2 };

interface RegexRoute<H, M> {
  readonly regex: RegExp;
  readonly names: readonly string[];
  readonly rank: readonly number[];
  readonly handler: H;
  readonly meta: M;
  readonly pattern: string;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function levelSource(level: PatternLevel, index: number): string {
  const separator = index === 0 ? '' : '/';
  switch (level.kind) {
    case 'literal':
      return separator + escapeRegex(level.value);
    case 'param':
      return separator + '([^/]*)';
    case 'plus':
      return separator + '[^/]*';
    case 'rest':
      return separator + '(.*)';
    case 'hash':
      return index === 0 ? '.*' : '(?:/.*)?';
  }
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The baseline: one regex per route, every route tried on every topic, then sorted into
 * the documented match order. Kept here only to compare against; it passes the router
 * contract suite so the comparison is like for like.
 */
export class NaiveRegexRouter<H, M = undefined> implements TopicRouter<H, M> {
  readonly #routes: RegexRoute<H, M>[] = [];

  add(pattern: string, handler: H, ...meta: undefined extends M ? [meta?: M] : [meta: M]): void {
    const { levels, paramNames } = compilePattern(pattern);
    const source = levels.map(levelSource).join('');
    const dollarGuard = levels[0]!.kind === 'literal' ? '' : '(?!\\$)';
    this.#routes.push({
      regex: new RegExp(`^${dollarGuard}${source}$`, 's'),
      names: paramNames,
      rank: levels.map((level) => RANK[level.kind]),
      handler,
      meta: meta[0] as M,
      pattern,
    });
  }

  match(topic: string): RouteMatch<H, M>[] {
    if (topic === '') return [];
    const found: Array<{ route: RegexRoute<H, M>; params: RouteParams }> = [];
    for (const route of this.#routes) {
      const groups = route.regex.exec(topic);
      if (groups === null) continue;
      const params: Record<string, string> = Object.create(null);
      route.names.forEach((name, index) => {
        params[name] = groups[index + 1]!;
      });
      found.push({ route, params });
    }
    found.sort((a, b) => compareRank(a.route.rank, b.route.rank));
    return found.map(({ route, params }) => ({
      handler: route.handler,
      params,
      pattern: route.pattern,
      meta: route.meta,
    }));
  }
}

/** A small deterministic PRNG (mulberry32), so every run benches the same topics. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cross-tenant routes every size carries, with a topic each one is hit by. */
const GLOBAL_ROUTES: ReadonlyArray<[pattern: string, topic: (tenant: number, device: number) => string]> = [
  ['tenants/{tenantId}/devices/{deviceId}/heartbeat', (t, d) => `tenants/t${t}/devices/dev-${d}/heartbeat`],
  ['tenants/+/devices/+/events/#', (t, d) => `tenants/t${t}/devices/dev-${d}/events/boot`],
  ['$SYS/broker/#', () => '$SYS/broker/clients/connected'],
];

/** Per-tenant route shapes, cycled through as the table grows. */
const TENANT_ROUTES: ReadonlyArray<
  [pattern: (t: number) => string, topic: (t: number, d: number) => string]
> = [
  [(t) => `tenants/t${t}/devices/{deviceId}/telemetry`, (t, d) => `tenants/t${t}/devices/dev-${d}/telemetry`],
  [(t) => `tenants/t${t}/devices/{deviceId}/status`, (t, d) => `tenants/t${t}/devices/dev-${d}/status`],
  [
    (t) => `tenants/t${t}/devices/{deviceId}/config/{path*}`,
    (t, d) => `tenants/t${t}/devices/dev-${d}/config/network/wifi`,
  ],
  [(t) => `tenants/t${t}/gateways/+/#`, (t, d) => `tenants/t${t}/gateways/gw-${d}/uplink/raw`],
];

/** `size` realistic IoT routes and 4,096 topics that each hit at least one of them. */
export function buildWorkload(size: number): { patterns: string[]; topics: string[] } {
  const patterns: string[] = [];
  const topicMakers: Array<(device: number) => string> = [];
  const tenantCount = Math.max(1, Math.ceil((size - GLOBAL_ROUTES.length) / TENANT_ROUTES.length));
  for (const [pattern, topic] of GLOBAL_ROUTES) {
    patterns.push(pattern);
    topicMakers.push((device) => topic(device % tenantCount, device));
  }
  for (let i = 0; patterns.length < size; i++) {
    const tenant = Math.floor(i / TENANT_ROUTES.length);
    const [pattern, topic] = TENANT_ROUTES[i % TENANT_ROUTES.length]!;
    patterns.push(pattern(tenant));
    topicMakers.push((device) => topic(tenant, device));
  }
  const next = random(size);
  const topics = Array.from({ length: 4096 }, () => {
    const make = topicMakers[Math.floor(next() * topicMakers.length)]!;
    return make(Math.floor(next() * 1000));
  });
  return { patterns, topics };
}

/** CPU time this process has used, in ns: unlike wall time, it does not count the time
 * other processes on a busy machine hold the CPU. */
function cpuTimeNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** Nanoseconds per match: the best of `rounds` runs of about `roundMs` of CPU time each. */
function measure(
  router: TopicRouter<number>,
  topics: readonly string[],
  rounds: number,
  roundMs: number,
): number {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  let next = 0;
  for (let round = 0; round < rounds; round++) {
    let calls = 0;
    let batch = 1;
    const started = cpuTimeNs();
    let elapsed = 0;
    // Batches grow until one takes a millisecond, so reading the clock costs little for a
    // fast router and a slow one still stops near its budget.
    while (elapsed < roundMs * 1e6) {
      const before = elapsed;
      for (let i = 0; i < batch; i++) sink += router.match(topics[next++ & 4095]!).length;
      calls += batch;
      elapsed = cpuTimeNs() - started;
      if (elapsed - before < 1e6) batch *= 2;
    }
    best = Math.min(best, elapsed / calls);
  }
  if (sink === 0) throw new Error('unreachable: every bench topic hits a route');
  return best;
}

function checkEveryTopicHits(patterns: readonly string[], topics: readonly string[]): void {
  const router = new TrieRouter<number>();
  for (const [index, pattern] of patterns.entries()) router.add(pattern, index);
  const missed = topics.filter((topic) => router.match(topic).length === 0);
  if (missed.length > 0) throw new Error(`bench workload broken: ${missed.length} topics hit no route`);
}

async function runBench(
  createRouter: () => TopicRouter<number>,
  sizes: readonly number[],
  roundMs: number,
): Promise<RoutingBenchResult[]> {
  const results: RoutingBenchResult[] = [];
  for (const size of sizes) {
    const { patterns, topics } = buildWorkload(size);
    checkEveryTopicHits(patterns, topics);
    const router = createRouter();
    for (const [index, pattern] of patterns.entries()) router.add(pattern, index);
    measure(router, topics, 1, roundMs); // warm-up: let the JIT settle
    const nsPerMatch = measure(router, topics, 5, roundMs);
    results.push({ routes: size, matchesPerSecond: Math.round(1e9 / nsPerMatch), nsPerMatch });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return results;
}

const SIZES = [10, 1_000, 10_000] as const;

/**
 * Match rate of the trie router over tables of 10, 1,000 and 10,000 routes, on topics
 * that each hit at least one route. Rates are per second of this process's CPU time
 * (best of five rounds), so other work on the machine skews them little.
 *
 * @example
 * for (const row of await runRoutingBench()) console.log(row.routes, row.matchesPerSecond);
 */
export async function runRoutingBench(): Promise<RoutingBenchResult[]> {
  return runBench(() => new TrieRouter<number>(), SIZES, 100);
}

/**
 * The same measurement for the naive regex scan, for comparison.
 *
 * @example
 * const naive = await runNaiveRegexBench();
 */
export async function runNaiveRegexBench(): Promise<RoutingBenchResult[]> {
  return runBench(() => new NaiveRegexRouter<number>(), SIZES, 60);
}

function formatRate(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

async function main(): Promise<void> {
  console.log('Topic matches per second of CPU time, topics that hit (best of 5 rounds)\n');
  const trie = await runRoutingBench();
  const naive = await runNaiveRegexBench();
  const rows = [
    ['routes', 'trie matches/s', 'trie ns/match', 'regex-scan matches/s', 'regex-scan ns/match', 'speed-up'],
  ];
  trie.forEach((row, index) => {
    const baseline = naive[index]!;
    rows.push([
      formatRate(row.routes),
      formatRate(row.matchesPerSecond),
      row.nsPerMatch.toFixed(0),
      formatRate(baseline.matchesPerSecond),
      baseline.nsPerMatch.toFixed(0),
      `${(baseline.nsPerMatch / row.nsPerMatch).toFixed(1)}x`,
    ]);
  });
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padStart(widths[column]!)).join('  '));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
