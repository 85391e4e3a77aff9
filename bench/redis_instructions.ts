/**
 * `npm run bench:instructions`: the instructions Redis executes per job for Topiq's queue
 * scripts, counted by valgrind's callgrind on a private redis-server. Unlike timings, the
 * count repeats to within a fraction of a percent on a shared or noisy machine, so a change
 * to a Lua script can be compared before and after. It takes about a minute (Redis runs
 * some 50 times slower under valgrind).
 *
 *   npm run bench:instructions                  20,000 jobs per phase
 *   npm run bench:instructions -- --jobs=5000   fewer, faster
 *   npm run bench:instructions -- --keep-dumps=/tmp/cg
 *       also keeps each phase's callgrind file there (push.callgrind, work-1000.callgrind,
 *       work-0.callgrind, work-age.callgrind, events.callgrind), for `callgrind_annotate` to show where the instructions go
 *
 * Phases, each on a fresh queue: `push` (dispatchMany in batches of 1,000); `work`, records
 * kept (1,000), not kept (0), and kept by age alone (1 ms, so every complete trims the round
 * before by age, from the completed times list): reserve calls of 50, three at a time, then one complete of what
 * they returned, with 300 more jobs held all along so the active set has the size it has
 * under a busy worker (a skiplist, as at concurrency 50). Job events are not part of those
 * phases; a last one, `events`, counts what relaying them costs Redis: a worker's two events
 * per job (running, completed; rounds of 50 jobs with UUID ids), published in the Redis wire
 * format to one subscribed listener. Skipped, with a message, when valgrind or redis-server
 * is missing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Dispatcher, JobEventPublisher, RedisQueueDriver } from '../core/index.js';
import type { Lease } from '../core/queue/driver.js';
import { markdownTable } from './queue_bench_report.js';
import { NoopJob } from './noop_job.js';

const run = promisify(execFile);
const HELD = 300;
const BATCH = 50;
const IN_FLIGHT = 3;

async function available(command: string): Promise<boolean> {
  try {
    await run(command, ['--version']);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** redis-server under callgrind; `measure` zeroes the counters, runs `work` and returns what it executed. */
class CountedRedis {
  readonly port: number;
  readonly #dir: string;
  readonly #child: ChildProcess;
  #dumps = 0;

  private constructor(port: number, dir: string, child: ChildProcess) {
    this.port = port;
    this.#dir = dir;
    this.#child = child;
  }

  static async start(): Promise<CountedRedis> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'topiq-callgrind-'));
    const child = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${join(dir, 'redis.out')}`,
        'redis-server',
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    const redis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {}); // refused until valgrind has started it: retried below
    for (let i = 0; ; i++) {
      try {
        await redis.connect();
        await redis.ping();
        break;
      } catch {
        if (i > 150) throw new Error('redis-server under valgrind did not answer within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    redis.disconnect();
    return new CountedRedis(port, dir, child);
  }

  /** Counts what `work` makes Redis execute; the dump is copied to `keepAs` when given. */
  async measure(work: () => Promise<void>, keepAs?: string): Promise<number> {
    await run('callgrind_control', ['--zero', String(this.#child.pid)]);
    await work();
    await run('callgrind_control', [`--dump=phase${++this.#dumps}`, String(this.#child.pid)]);
    const file = (await readdir(this.#dir)).find((name) => name === `redis.out.${this.#dumps}`);
    if (!file) throw new Error(`callgrind wrote no dump ${this.#dumps} in ${this.#dir}`);
    if (keepAs !== undefined) await copyFile(join(this.#dir, file), keepAs);
    const summary = /^summary: (\d+)$/m.exec(await readFile(join(this.#dir, file), 'utf8'));
    if (!summary) throw new Error(`no summary line in ${file}`);
    return Number(summary[1]);
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
    await rm(this.#dir, { recursive: true, force: true });
  }
}

async function fill(driver: RedisQueueDriver, queue: string, jobs: number): Promise<void> {
  const dispatcher = new Dispatcher(driver);
  for (let start = 0; start < jobs; start += 1000) {
    const entries = [];
    for (let i = start; i < Math.min(jobs, start + 1000); i++)
      entries.push({ job: NoopJob, payload: { i }, options: { queue } });
    await dispatcher.dispatchMany(entries);
  }
}

/**
 * Raises the running and completed events of `jobs` jobs through a `JobEventPublisher`, as a
 * worker at concurrency 50 does, and waits until the listener subscribed on `driver` has
 * heard every one; the driver counts its own listener, so it publishes throughout.
 */
async function relayEvents(driver: RedisQueueDriver, jobs: number, heard: () => number): Promise<void> {
  const events = new JobEventPublisher(driver, true, { flushIntervalMs: 3_600_000 });
  for (let first = 0; first < jobs; first += BATCH) {
    const round = Array.from({ length: Math.min(BATCH, jobs - first) }, () => ({
      id: randomUUID(),
      name: 'BenchNoopJob',
      queue: 'events',
      attempt: 1,
    }));
    for (const job of round) events.started(job, 'bench-host:1:abcdef');
    events.completed(
      round.map((job) => ({ job, value: null, durationMs: 0.05 })),
      'bench-host:1:abcdef',
    );
  }
  events.flush();
  const deadline = Date.now() + 120_000;
  while (heard() < 2 * jobs) {
    if (Date.now() > deadline) throw new Error(`the listener heard ${heard()} of ${2 * jobs} job events`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Reserves and completes every job of `queue` the way a busy worker does; returns how many. */
async function work(driver: RedisQueueDriver, queue: string): Promise<number> {
  const options = { count: BATCH, leaseMs: 600_000, worker: 'bench-host:1:abcdef', defaultMaxTries: 3 };
  const lease = (job: { id: string; token: string }): Lease => ({ id: job.id, queue, token: job.token });
  const held = (await driver.reserve(queue, { ...options, count: HELD })).jobs.map(lease);
  let done = 0;
  for (;;) {
    const results = await Promise.all(
      Array.from({ length: IN_FLIGHT }, () => driver.reserve(queue, options)),
    );
    const leases = results.flatMap((result) => result.jobs.map(lease));
    if (leases.length === 0) break;
    await driver.complete(leases.map((l) => ({ lease: l, result: 'null' })));
    done += leases.length;
  }
  await driver.complete(held.map((l) => ({ lease: l, result: 'null' })));
  return done + held.length;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { jobs: { type: 'string', default: '20000' }, 'keep-dumps': { type: 'string' } },
    strict: true,
  });
  const jobs = Number(values.jobs);
  const dumps = values['keep-dumps'];
  if (dumps !== undefined) await mkdir(dumps, { recursive: true });
  const keepAs = (phase: string) => (dumps === undefined ? undefined : join(dumps, `${phase}.callgrind`));
  if (!Number.isInteger(jobs) || jobs < HELD + BATCH)
    throw new Error(`--jobs takes a whole number >= ${HELD + BATCH}`);
  for (const command of ['valgrind', 'callgrind_control', 'redis-server']) {
    if (!(await available(command))) {
      console.log(`Skipped: ${command} is not installed (apt install valgrind redis-server).`);
      return;
    }
  }
  const redis = await CountedRedis.start();
  const rows: string[][] = [];
  try {
    // the age bound is the driver's default (24 hours) unless a phase sets one
    const driverFor = (completedCount: number, completedAgeMs?: number) =>
      new RedisQueueDriver({
        connection: { port: redis.port },
        prefix: 'tqi',
        retention: completedAgeMs === undefined ? { completedCount } : { completedCount, completedAgeMs },
      });
    const pushDriver = driverFor(1000);
    const push = await redis.measure(() => fill(pushDriver, 'push', jobs), keepAs('push'));
    await pushDriver.close();
    rows.push(['push (dispatchMany, batches of 1,000)', formatPerJob(push / jobs)]);
    const phases = [
      { queue: 'work-1000', label: '1,000 records kept', keep: 1000, ageMs: undefined },
      { queue: 'work-0', label: 'records not kept', keep: 0, ageMs: undefined },
      // Under valgrind a round takes far longer than 1 ms, so each complete drops the records
      // of the round before by age, from the completed times list; the count bound is out of reach.
      { queue: 'work-age', label: 'records kept for 1 ms', keep: 1_000_000, ageMs: 1 },
    ];
    for (const { queue, label, keep, ageMs } of phases) {
      const driver = driverFor(keep, ageMs);
      await fill(driver, queue, jobs);
      let handled = 0;
      const total = await redis.measure(async () => {
        handled = await work(driver, queue);
      }, keepAs(queue));
      await driver.close();
      if (handled !== jobs) throw new Error(`reserved and completed ${handled} of ${jobs} jobs`);
      rows.push([`reserve + complete, ${label}`, formatPerJob(total / jobs)]);
    }
    const eventsDriver = driverFor(0);
    let heard = 0;
    await eventsDriver.subscribeEvents(() => {
      heard++;
    });
    const relayed = await redis.measure(() => relayEvents(eventsDriver, jobs, () => heard), keepAs('events'));
    await eventsDriver.close();
    rows.push(['job events relayed to one listener (running + completed)', formatPerJob(relayed / jobs)]);
  } finally {
    await redis.stop();
  }
  const { stdout } = await run('redis-server', ['--version']);
  console.log(
    `### Redis instructions per job (callgrind, ${stdout.trim().split(' ').slice(0, 3).join(' ')}, ${jobs.toLocaleString('en-US')} jobs per phase)\n`,
  );
  console.log(markdownTable(['phase', 'instructions per job'], rows));
}

function formatPerJob(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
