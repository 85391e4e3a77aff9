/**
 * `npm run bench:reserve`: how long one `reserve` call takes against Redis, from sending it to
 * its answer, for batches of 1 and of 50 jobs: the round trip a worker weighs its jobs
 * against when it decides how many to reserve ahead (`core/queue/reserve_ahead.ts`: none for
 * jobs over 100 round trips). Prints median, p10 and p90 per batch size.
 *
 *   npm run bench:reserve                    200 calls per batch size
 *   npm run bench:reserve -- --calls=1000
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Dispatcher, JobRegistry, RedisQueueDriver } from '../core/index.js';
import { wholeNumber } from './bench_args.js';
import { NoopJob } from './noop_job.js';
import { markdownTable } from './queue_bench_report.js';
import { benchConnection, deleteKeys } from './redis_stats.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '200' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
    strict: true,
  });
  const calls = wholeNumber('--calls', values.calls, 10);
  const prefix = `tqb-rtt-${randomBytes(4).toString('hex')}`;
  const driver = new RedisQueueDriver({ connection: benchConnection(values.redis), prefix });
  const queue = 'reserve-rtt';
  const rows: string[][] = [];
  try {
    const dispatcher = new Dispatcher(driver, new JobRegistry().register(NoopJob));
    for (const batch of [1, 50]) {
      await dispatcher.dispatchMany(
        Array.from({ length: calls * batch }, (_, i) => ({
          job: NoopJob,
          payload: { i },
          options: { queue },
        })),
      );
      const times: number[] = [];
      for (let call = 0; call < calls; call++) {
        const sent = performance.now();
        await driver.reserve(queue, { count: batch, leaseMs: 60_000, worker: 'bench', defaultMaxTries: 1 });
        times.push(performance.now() - sent);
      }
      times.sort((a, b) => a - b);
      const at = (share: number) => times[Math.min(times.length - 1, Math.floor(share * times.length))]!;
      rows.push([String(batch), at(0.5).toFixed(2), at(0.1).toFixed(2), at(0.9).toFixed(2)]);
    }
  } finally {
    await deleteKeys(driver.redis, `${prefix}:*`);
    await driver.close();
  }
  console.log(`### One reserve call against Redis (${calls} calls per batch size)\n`);
  console.log(markdownTable(['jobs per call', 'median ms', 'p10 ms', 'p90 ms'], rows));
}

await main();
