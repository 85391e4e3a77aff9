/**
 * `npm run bench:promotion`: what a reserve call that promotes delayed jobs come due costs,
 * round trip included. Such a call also keeps what it settled (reserve_jobs.lua, for a run of
 * it again after a lost reply), a write that a call settling nothing skips; this prints both,
 * as the median of `--rounds` calls each.
 *
 *   npm run bench:promotion                      1,000 jobs promoted per call, 25 rounds
 *   npm run bench:promotion -- --jobs=200 --rounds=50
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { RedisQueueDriver } from '../core/index.js';
import { wholeNumber } from './bench_args.js';
import { markdownTable } from './queue_bench_report.js';
import { benchConnection, deleteKeys } from './redis_stats.js';
import { median } from './statistics.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '25' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
    strict: true,
  });
  // at most 1,000: a reserve promotes that many due jobs per call
  const jobs = Math.min(1000, wholeNumber('--jobs', values.jobs, 1));
  const rounds = wholeNumber('--rounds', values.rounds, 1);
  const prefix = `tqb-promotion-${randomBytes(4).toString('hex')}`;
  const driver = new RedisQueueDriver({ connection: benchConnection(values.redis), prefix });
  const queue = 'promotion';
  const reserveOptions = { count: 1, leaseMs: 30_000, worker: 'bench', defaultMaxTries: 3 };
  const promoting: number[] = [];
  const idle: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const runAt = Date.now() + 30;
      await driver.push(
        Array.from({ length: jobs }, (_, index) => ({
          id: `r${round}-${index}`,
          name: 'NoopJob',
          queue,
          payload: '{}',
          maxTries: 3,
          priority: 0,
          runAt,
        })),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      let started = performance.now();
      await driver.reserve(queue, reserveOptions);
      promoting.push(performance.now() - started);
      await driver.clear(queue);
      started = performance.now();
      await driver.reserve(queue, reserveOptions);
      idle.push(performance.now() - started);
    }
  } finally {
    await deleteKeys(driver.redis, `${prefix}:*`);
    await driver.close();
  }
  const promoted = median(promoting);
  const nothing = median(idle);
  console.log(`### Reserve calls, ${rounds} rounds (medians)\n`);
  console.log(
    markdownTable(
      ['call', 'ms', 'µs per job promoted'],
      [
        [
          `promotes ${jobs} delayed jobs come due`,
          promoted.toFixed(2),
          ((promoted * 1000) / jobs).toFixed(2),
        ],
        ['settles nothing (empty queue)', nothing.toFixed(2), '-'],
      ],
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
