/**
 * The worker process of the end-to-end bench: a Topiq worker (built like `queue:work`
 * builds one, from `config/queue.ts` read from the given environment) or a BullMQ
 * worker, concurrency 50 by default, whose job hands each reading to a HandledRecorder.
 *
 * Protocol (./e2e_child.ts): reports `ready` once connected; `go` and `mark` frame the
 * span its CPU and event loop are timed over (the publishing window); on `stop` it stops
 * the worker and reports `result` with the recorder's summary, then exits. Run by ./e2e_bench.ts; by hand:
 *
 *   node --import tsx bench/e2e_worker_process.ts --system=topiq --queue=q --prefix=e2e-x --record-key=e2e-x:h
 */
import { parseArgs } from 'node:util';
import { Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import queueConfig from '../config/queue.js';
import { Application, createLogger } from '../core/index.js';
import { type ProcessTiming, report, runChild, serveTimedChild } from './e2e_child.js';
import { HandledRecorder, type RecorderSummary } from './e2e_recorder.js';
import { type E2eReading, E2eTelemetryJob, setReadingSink } from './e2e_telemetry_job.js';
import { benchConnection } from './redis_stats.js';
import { required, requiredSystem } from './bench_args.js';

/** The `result` report of this process. */
export interface WorkerProcessReport extends ProcessTiming {
  type: 'result';
  summary: RecorderSummary;
}

const { values } = parseArgs({
  options: {
    system: { type: 'string' },
    queue: { type: 'string' },
    prefix: { type: 'string' },
    'record-key': { type: 'string' },
    concurrency: { type: 'string', default: '50' },
    events: { type: 'string', default: 'mqtt' },
    log: { type: 'string', default: 'warn' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});

interface Running {
  stop(): Promise<void>;
}

async function startTopiq(queue: string, prefix: string, concurrency: number): Promise<Running> {
  const log = createLogger({ level: values.log, name: 'e2e-worker', destination: process.stderr });
  const app = new Application({
    app: { name: 'e2e-worker', logLevel: values.log },
    queue: queueConfig.read({
      REDIS_URL: values.redis,
      QUEUE_PREFIX: prefix,
      QUEUE_EVENTS: values.events === 'off' ? 'off' : 'on',
    }),
    jobs: [E2eTelemetryJob],
    log,
  });
  await app.redis!.ping();
  const worker = app.createWorker({ queues: [queue], concurrency });
  const run = worker.run();
  return {
    async stop() {
      await worker.shutdown();
      await run;
      await app.close();
    },
  };
}

async function startBullmq(queue: string, prefix: string, concurrency: number): Promise<Running> {
  const worker = new BullWorker<E2eReading>(
    queue,
    async (job) => {
      await new E2eTelemetryJob().handle(job.data);
    },
    {
      connection: benchConnection(values.redis),
      prefix,
      concurrency,
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 100_000 },
    },
  );
  worker.on('error', (error) => console.error('bullmq worker error:', error));
  await worker.waitUntilReady();
  return {
    async stop() {
      await worker.close();
    },
  };
}

runChild(async () => {
  const system = requiredSystem(values.system);
  const queue = required('queue', values.queue);
  const prefix = required('prefix', values.prefix);
  const concurrency = Number(values.concurrency);
  const redis = new Redis({ ...benchConnection(values.redis), maxRetriesPerRequest: 3 });
  await redis.ping();
  const recorder = new HandledRecorder(redis, required('record-key', values['record-key']));
  setReadingSink((reading) => recorder.record(reading));
  const running =
    system === 'topiq'
      ? await startTopiq(queue, prefix, concurrency)
      : await startBullmq(queue, prefix, concurrency);

  serveTimedChild<WorkerProcessReport>(async () => {
    await running.stop();
    await recorder.close();
    redis.disconnect();
    return { summary: recorder.summary() };
  });
  report({ type: 'ready' });
});
