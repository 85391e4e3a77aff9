/**
 * `npm run bench:events`: the CPU a worker spends on job events, alone. For every job it
 * records the two changes a worker raises (running, then completed once its acknowledgement
 * batch is stored) through `JobEventPublisher`, in rounds of 50 jobs with UUID ids as a busy
 * worker at concurrency 50 does, and encodes every message in the Redis wire format
 * (`event_codec.ts`) without sending it. Then it decodes every message as a listener does
 * (`decodeEvents`, what `subscribeEvents` runs per message). Prints µs per job on each side and
 * bytes per job for three passes; the first includes the JIT's warm-up.
 *
 *   npm run bench:events                    400,000 jobs per pass
 *   npm run bench:events -- --jobs=100000
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type CompletedEntry, type EventBatch, JobEventPublisher, type QueueDriver } from '../core/index.js';
import { decodeEvents, encodeEvents } from '../core/queue/drivers/redis/event_codec.js';
import { markdownTable } from './queue_bench_report.js';

const ROUND = 50;
const WORKER = 'bench-host:4242:abcdef';

function main(): void {
  const { values } = parseArgs({ options: { jobs: { type: 'string', default: '400000' } }, strict: true });
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < ROUND) throw new Error(`--jobs takes a whole number >= ${ROUND}`);
  let bytes = 0;
  let messages: string[] = [];
  const driver = {
    publishEvents(batch: EventBatch) {
      const message = encodeEvents(batch);
      bytes += Buffer.byteLength(message);
      messages.push(message);
    },
  } as unknown as QueueDriver;
  const publisher = new JobEventPublisher(driver, true, { flushIntervalMs: 3_600_000 });
  const ids = Array.from({ length: jobs }, () => randomUUID());
  const rows: string[][] = [];
  for (let pass = 1; pass <= 3; pass++) {
    bytes = 0;
    messages = [];
    const started = performance.now();
    for (let first = 0; first < jobs; first += ROUND) {
      const round = ids
        .slice(first, first + ROUND)
        .map((id) => ({ id, name: 'NoopJob', queue: 'default', attempt: 1 }));
      for (const job of round) publisher.started(job, WORKER);
      const entries: CompletedEntry[] = round.map((job) => ({ job, value: null, durationMs: 0.0123 }));
      publisher.completed(entries, WORKER);
    }
    publisher.flush();
    const us = ((performance.now() - started) * 1000) / jobs;
    const decodeStarted = performance.now();
    let events = 0;
    for (const message of messages) events += decodeEvents(message).length;
    const decodeUs = ((performance.now() - decodeStarted) * 1000) / jobs;
    if (events !== 2 * jobs) throw new Error(`decoded ${events} events of ${2 * jobs}`);
    rows.push([
      String(pass),
      us.toFixed(3),
      decodeUs.toFixed(3),
      (bytes / jobs).toFixed(1),
      messages.length.toLocaleString('en-US'),
    ]);
  }
  console.log(
    `### Job events in a worker: running + completed per job, ${jobs.toLocaleString('en-US')} jobs per pass\n`,
  );
  console.log(
    markdownTable(
      [
        'pass',
        'worker µs per job (record + encode)',
        'listener µs per job (decode)',
        'bytes per job',
        'messages',
      ],
      rows,
    ),
  );
}

main();
