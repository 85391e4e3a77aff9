/**
 * `npm run bench:pages`: what reading pages of completed job records costs Redis, deep in a
 * queue that keeps many (`job:list --name/--owner` reads them a page at a time). For pages of
 * 500 at several depths it prints the median time of one `listJobs` page (read from its known
 * place in the completed list, `read_records.lua` page mode) and of one `getJob` of a record at
 * the same depth (found by id, which scans the list from its newest end: what a page cost per
 * record before page mode). Then the time of one filtered list that reads its whole budget
 * (`MAX_FILTER_SCAN` records) and finds nothing.
 *
 *   npm run bench:pages                      50,000 completed records
 *   npm run bench:pages -- --jobs=100000
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { JobManager, MAX_FILTER_SCAN, RedisQueueDriver } from '../core/index.js';
import { runScript } from '../core/queue/drivers/redis/scripts.js';
import { wholeNumber } from './bench_args.js';
import { markdownTable } from './queue_bench_report.js';
import { benchConnection, deleteKeys } from './redis_stats.js';
import { median } from './statistics.js';

const PAGE = 500;
const REPEATS = 5;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '50000' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
    strict: true,
  });
  const jobs = wholeNumber('--jobs', values.jobs, 10_000);
  const prefix = `tqb-pages-${randomBytes(4).toString('hex')}`;
  const driver = new RedisQueueDriver({
    connection: benchConnection(values.redis),
    prefix,
    retention: { completedCount: jobs, completedAgeMs: 3_600_000 },
  });
  const queue = 'pages';
  const rows: string[][] = [];
  let scanMs = 0;
  try {
    for (let start = 0; start < jobs; start += 1000) {
      await driver.push(
        Array.from({ length: 1000 }, (_, k) => ({
          id: `j${start + k}`,
          name: 'NoopJob',
          queue,
          payload: '{}',
          maxTries: 1,
          priority: 0,
        })),
      );
      const reserved = await driver.reserve(queue, {
        count: 1000,
        leaseMs: 60_000,
        worker: 'bench',
        defaultMaxTries: 1,
      });
      await driver.complete(
        reserved.jobs.map((job) => ({ lease: { id: job.id, queue, token: job.token }, result: 'null' })),
      );
    }
    const keys = driver.keys.queue(queue);
    const byIds = (ids: string[]) =>
      runScript(
        driver.redis,
        'read_records',
        [keys.leases, keys.completed, keys.completedTimes],
        [keys.job, 'ids', ...ids],
      );
    for (const offset of [0, 9_500, jobs - PAGE]) {
      const pages: number[] = [];
      const byId: number[] = [];
      const ids = (await driver.listJobs(queue, 'completed', offset, PAGE)).map((record) => record.id);
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        pages.push(await timed(() => driver.listJobs(queue, 'completed', offset, PAGE)));
        byId.push(await timed(() => byIds(ids)));
      }
      rows.push([String(offset), median(pages).toFixed(1), median(byId).toFixed(1)]);
    }
    const manager = new JobManager(driver);
    scanMs = await timed(() => manager.listPage({ queue, status: 'completed', name: 'NoSuchJob' }));
  } finally {
    await deleteKeys(driver.redis, `${prefix}:*`);
    await driver.close();
  }
  console.log(`### Pages of ${PAGE} completed records, ${jobs} kept (median of ${REPEATS})\n`);
  console.log(markdownTable(['offset', 'page ms (by place)', `same ${PAGE} by id ms (a scan per id)`], rows));
  console.log(
    `\nA list filtered by a name nobody has read ${MAX_FILTER_SCAN} records and stopped: ${scanMs.toFixed(0)} ms.`,
  );
}

await main();
