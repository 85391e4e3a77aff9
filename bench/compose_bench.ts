/**
 * What middleware composition costs per message: `compose` around an async handler that
 * does nothing, with 0, 1 and 3 middleware that await `next()`, as the app's routes run them.
 * Each figure is the median of `--rounds` timed loops of `--messages` runs, after a warm-up.
 * The difference from 0 middleware is what `compose` adds: waiting for every chain a middleware
 * starts, and following the promises chained on `next()` (see docs/routing.md).
 *
 * Run: `npm run bench:compose [-- --messages=300000 --rounds=5]`
 */
import { parseArgs } from 'node:util';
import { compose, type Middleware } from '../core/routing/index.js';
import { wholeNumber } from './bench_args.js';
import { markdownTable } from './queue_bench_report.js';
import { median } from './statistics.js';

const passThrough: Middleware<object> = async (_ctx, next) => {
  await next();
};

async function perMessageUs(middleware: number, messages: number, rounds: number): Promise<number> {
  const run = compose(
    Array.from({ length: middleware }, () => passThrough),
    async () => {},
  );
  for (let i = 0; i < 20_000; i++) await run({});
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < messages; i++) await run({});
    samples.push(Number(process.hrtime.bigint() - started) / messages / 1000);
  }
  return median(samples);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '300000' },
      rounds: { type: 'string', default: '5' },
    },
    strict: true,
  });
  const messages = wholeNumber('--messages', values.messages, 1);
  const rounds = wholeNumber('--rounds', values.rounds, 1);
  const rows: string[][] = [];
  const base = await perMessageUs(0, messages, rounds);
  for (const count of [0, 1, 3]) {
    const us = count === 0 ? base : await perMessageUs(count, messages, rounds);
    rows.push([String(count), us.toFixed(2), (us - base).toFixed(2)]);
  }
  console.log(`### compose, ${messages.toLocaleString('en-US')} messages x ${rounds} rounds (medians)\n`);
  console.log(markdownTable(['middleware', 'µs per message', 'µs over none'], rows));
}

await main();
