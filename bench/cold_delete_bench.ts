/**
 * `npm run bench:cold-deletes`: what it costs Redis, in time, to delete a job's hash long
 * after it was last touched rather than at once. With completed records kept (1,000 by
 * default), a completed job's hash is deleted when 1,000 later jobs have completed, no longer
 * in the CPU's caches; with records off it is deleted while still hot. The instructions are
 * the same either way (`npm run bench:instructions` cannot see this), so this times it.
 *
 * It writes `--keys` job-like hashes under a prefix of its own, then walks them in batches of
 * 167 (the jobs a busy worker acknowledges per call), each batch one Lua call that reads one
 * field of every hash of the batch (as a reserve does) and deletes the hashes of the batch
 * `--lag` keys back (0: the batch itself). Redis's own time for those calls
 * (`INFO commandstats`) is divided by the keys; hot and cold runs alternate.
 *
 *   npm run bench:cold-deletes                       6 rounds, 200,000 keys, lag 1,000
 *   npm run bench:cold-deletes -- --rounds=3 --keys=100000 --lag=5000
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { wholeNumber } from './bench_args.js';
import { markdownTable } from './queue_bench_report.js';
import { benchConnection, deleteKeys } from './redis_stats.js';
import { median } from './statistics.js';

const BATCH = 167;

const FILL = `
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  redis.call('HSET', ARGV[1] .. i, 'name', 'BenchNoopJob', 'payload', '{"i":' .. i .. '}',
    'attempt', '1', 'maxTries', '3', 'status', 'running', 'createdAt', '1796303524495', 'priority', '0')
end
return 1`;

const STEP = `
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  redis.call('HGET', ARGV[1] .. i, 'payload')
end
local keys = {}
local n = 0
for i = tonumber(ARGV[4]), tonumber(ARGV[5]) do
  n = n + 1
  keys[n] = ARGV[1] .. i
end
if n > 0 then
  redis.call('DEL', unpack(keys))
end
return 1`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '6' },
      keys: { type: 'string', default: '200000' },
      lag: { type: 'string', default: '1000' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
    strict: true,
  });
  const rounds = wholeNumber('--rounds', values.rounds, 1);
  const keys = wholeNumber('--keys', values.keys, 10 * BATCH);
  const lag = wholeNumber('--lag', values.lag, 1);
  if (lag >= keys) throw new Error(`--lag must be below --keys (${keys}); got ${lag}`);
  const redis = new Redis(benchConnection(values.redis));
  const prefix = `tqcold-${randomBytes(4).toString('hex')}:`;
  const hot: number[] = [];
  const cold: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // alternate which goes first, so drift hits both alike
      const order = round % 2 === 0 ? [0, lag] : [lag, 0];
      for (const each of order) {
        const us = await walk(redis, prefix, keys, each);
        (each === 0 ? hot : cold).push(us);
        process.stderr.write(
          `  round ${round + 1}, ${each === 0 ? 'hot' : 'cold'}: ${us.toFixed(3)} µs per key\n`,
        );
      }
    }
  } finally {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  }
  const differences = hot.map((value, index) => cold[index]! - value);
  console.log(
    `### Deleting a job hash at once or ${lag.toLocaleString('en-US')} keys later, ${keys.toLocaleString('en-US')} hashes, ${rounds} round(s)\n`,
  );
  console.log('Redis time per key of the Lua calls that read a batch and delete one (INFO commandstats).\n');
  console.log(
    markdownTable(
      ['deleted', 'median µs per key', 'runs'],
      [
        ['at once (hot)', median(hot).toFixed(3), hot.map((value) => value.toFixed(3)).join(' / ')],
        [
          `${lag.toLocaleString('en-US')} keys later (cold)`,
          median(cold).toFixed(3),
          cold.map((value) => value.toFixed(3)).join(' / '),
        ],
        [
          'cold - hot, same round',
          median(differences).toFixed(3),
          differences.map((value) => value.toFixed(3)).join(' / '),
        ],
      ],
    ),
  );
}

/** Fills `keys` hashes, walks them deleting `lag` keys behind, returns Redis µs per key. */
async function walk(redis: Redis, prefix: string, keys: number, lag: number): Promise<number> {
  for (let first = 0; first < keys; first += 5000)
    await redis.eval(FILL, 0, prefix, first, Math.min(keys - 1, first + 4999));
  await redis.config('RESETSTAT');
  for (let first = 0; first + BATCH <= keys; first += BATCH) {
    const drop = first - lag;
    await redis.eval(
      STEP,
      0,
      prefix,
      first,
      first + BATCH - 1,
      Math.max(0, drop),
      drop < 0 ? -1 : drop + BATCH - 1,
    );
  }
  const stats = await redis.info('commandstats');
  const line = stats.split('\n').find((each) => each.startsWith('cmdstat_eval:'));
  const usec = Number(/usec=(\d+)/.exec(line ?? '')?.[1]);
  if (!Number.isFinite(usec))
    throw new Error('INFO commandstats has no eval line; is this Redis 6 or later?');
  // the keys still there (those the lag left behind) go before the next walk
  await deleteKeys(redis, `${prefix}*`);
  return usec / keys;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
