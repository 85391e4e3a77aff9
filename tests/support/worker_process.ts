/**
 * A real queue worker process for the reliability tests (`tests/integration/reliability`):
 * a RedisQueueDriver and a Worker serving one queue with the recording `ReliabilityJob`,
 * configured from the environment (see `worker_process_settings.ts`).
 *
 * Protocol with the parent, one line each on stdout:
 *   `ready {"pid":..,"worker":".."}` once connected and running;
 *   `stopped <reason>` when `run()` has resolved (the process then exits 0).
 * SIGTERM stops the worker gracefully. Logs (level TOPIQ_TEST_LOG_LEVEL) go to stderr.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { createLogger, type JobContext, JobRegistry, RedisQueueDriver, Worker } from '../../core/index.js';
import { type JournalKeys, journalKeys, type ReliabilityPayload, ReliabilityJob } from './reliability_job.js';
import { settingsFromEnv } from './worker_process_settings.js';

/** The job as the worker runs it: every execution is written to the journal. */
function recordingJob(journal: Redis, keys: JournalKeys): typeof ReliabilityJob {
  return class RecordingReliabilityJob extends ReliabilityJob {
    // the jobs the tests dispatch as ReliabilityJob run as this one (a name is not inherited)
    static override readonly jobName = ReliabilityJob.jobName;

    override async handle({ ms }: ReliabilityPayload, { jobId, attempt, signal }: JobContext): Promise<void> {
      await journal.rpush(keys.started, `${jobId} ${process.pid} ${attempt}`);
      if (ms > 0) {
        try {
          await sleepUnlessAborted(ms, signal);
        } catch (reason) {
          await journal.rpush(keys.aborted, `${jobId} ${process.pid} ${reasonName(reason)}`);
          throw reason;
        }
      }
      const results = await journal
        .multi()
        .rpush(keys.handled, jobId)
        .hincrby(keys.handledByPid, String(process.pid), 1)
        .exec();
      const failed = results?.find(([error]) => error !== null);
      if (!results || failed) throw new Error('could not write the journal', { cause: failed?.[0] });
    }
  };
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function reasonName(reason: unknown): string {
  if (reason instanceof Error) return (reason as { code?: string }).code ?? reason.name;
  return String(reason);
}

/** Exits when the parent test process is gone or the lifetime is over: never a leftover. */
function guardLifetime(maxLifetimeMs: number): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(3);
  }, 500).unref();
  setTimeout(() => {
    process.stderr.write(`worker_process: lifetime of ${maxLifetimeMs} ms is over, exiting\n`);
    process.exit(4);
  }, maxLifetimeMs).unref();
}

async function main(): Promise<void> {
  const settings = settingsFromEnv(process.env);
  guardLifetime(settings.maxLifetimeMs);
  const url = new URL(settings.redisUrl);
  const connection: RedisOptions = {
    host: url.hostname,
    port: Number(url.port || 6379),
    connectionName: settings.connectionName,
  };
  const driver = new RedisQueueDriver({
    connection,
    prefix: settings.prefix,
    retention: { completedCount: settings.completedCount },
  });
  const journal = new Redis({ ...connection, enableAutoPipelining: true });
  const registry = new JobRegistry().register(recordingJob(journal, journalKeys(settings.prefix)));
  const worker = new Worker({
    driver,
    registry,
    queues: [settings.queue],
    concurrency: settings.concurrency,
    leaseMs: settings.leaseMs,
    shutdownGraceMs: settings.shutdownGraceMs,
    stopWhenEmpty: settings.stopWhenEmpty,
    sleep: settings.sleepSeconds,
    name: `reliability:${process.pid}`,
    heartbeatMs: settings.heartbeatMs,
    ...(settings.prefetch === undefined ? {} : { prefetch: settings.prefetch }),
    log: createLogger({ level: settings.logLevel, destination: process.stderr }),
  });
  process.once('SIGTERM', () => worker.stop());
  await Promise.all([driver.redis.ping(), journal.ping()]);
  const done = worker.run();
  process.stdout.write(`ready ${JSON.stringify({ pid: process.pid, worker: worker.name })}\n`);
  const reason = await done;
  await driver.close();
  await journal.quit();
  process.stdout.write(`stopped ${reason}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`worker_process: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
