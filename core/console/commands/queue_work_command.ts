/**
 * `npx topiq queue:work`: runs a worker in the foreground until it is stopped by a
 * signal or a limit. The first SIGINT/SIGTERM stops it gracefully (running jobs get the
 * grace period, the rest are released back to their queue) and the command exits 0; a
 * second signal exits 1 at once. It prints nothing itself: the worker's structured logs
 * are the output, and when their reader goes (`npx topiq queue:work | head -n 3`) it stops
 * as on the first signal, exit 0.
 */
import { type Command, Option } from 'commander';
import { InvalidConfigError } from '../../errors.js';
import type { JobClass } from '../../queue/job.js';
import type { WorkerOptions } from '../../queue/worker.js';
import { BaseCommand } from '../command.js';
import { stopOnCrash } from '../crash_stop.js';
import { onLogReaderGone } from '../log_reader_gone.js';
import {
  parseLeaseMs,
  parseBackoff,
  parseConcurrency,
  parsePositiveInteger,
  parsePositiveNumber,
  parsePrefetch,
  parseQueueNames,
  parseWorkerName,
} from '../parsers.js';

/** The flags of `queue:work`, as parsed. */
export interface QueueWorkFlags {
  queue?: string[];
  concurrency?: number;
  tries?: number;
  timeout?: number;
  backoff?: WorkerOptions['backoff'];
  sleep?: number;
  once?: boolean;
  stopWhenEmpty?: boolean;
  maxJobs?: number;
  maxTime?: number;
  memory?: number;
  name?: string;
  lease?: number;
  prefetch?: number | 'auto';
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Processes jobs from one or more queues. */
export class QueueWorkCommand extends BaseCommand<QueueWorkFlags> {
  static override readonly commandName = 'queue:work';
  static override readonly description =
    'Process jobs from the queues until stopped (Ctrl-C stops gracefully)';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option(
          '--queue <names>',
          'queues in strict priority order, comma-separated (default WORKER_QUEUES, else every queue of app/jobs, plus default)',
        ).argParser(parseQueueNames),
      )
      .addOption(new Option('--concurrency <n>', 'jobs run at once (default 1)').argParser(parseConcurrency))
      .addOption(
        new Option('--tries <n>', 'tries for jobs that set no maxTries (default 3)').argParser(
          parsePositiveInteger,
        ),
      )
      .addOption(
        new Option(
          '--timeout <seconds>',
          'time limit of one attempt for jobs that set none (default 60)',
        ).argParser(parsePositiveNumber),
      )
      .addOption(
        new Option(
          '--backoff <seconds>',
          'retry delay for jobs that set none: 10, 1,5,30 or exp:2[:600]',
        ).argParser(parseBackoff),
      )
      .addOption(
        new Option(
          '--sleep <seconds>',
          'longest an idle worker waits before looking again (default 3)',
        ).argParser(parsePositiveNumber),
      )
      .addOption(
        // one job at a time, one job in all, nothing held ahead: a flag that says otherwise
        // would be overridden without a word
        new Option(
          '--once',
          'run one job (or none) and stop; not with --concurrency, --max-jobs or --prefetch',
        ).conflicts(['concurrency', 'maxJobs', 'prefetch']),
      )
      .addOption(new Option('--stop-when-empty', 'stop when the queues have no ready job'))
      .addOption(new Option('--max-jobs <n>', 'stop after this many jobs').argParser(parsePositiveInteger))
      .addOption(
        new Option('--max-time <seconds>', 'stop after this many seconds').argParser(parsePositiveNumber),
      )
      .addOption(
        new Option('--memory <mb>', 'stop when resident memory exceeds this many MB').argParser(
          parsePositiveNumber,
        ),
      )
      .addOption(
        new Option('--name <name>', 'worker name in records and logs (default host:pid:random)').argParser(
          parseWorkerName,
        ),
      )
      .addOption(
        new Option(
          '--lease <ms>',
          'lease length in ms, 1000 to 2147483647 (default QUEUE_LEASE_MS, 30000)',
        ).argParser(parseLeaseMs),
      )
      .addOption(
        new Option(
          '--prefetch <n>',
          'jobs held reserved ahead of free slots, 0 to 10000, or auto (default: decided from job and reserve times)',
        ).argParser(parsePrefetch),
      );
  }

  async run(): Promise<number> {
    const app = await this.app();
    if (app.driver.kind === 'memory') {
      throw new InvalidConfigError(
        'queue:work runs a worker in a process of its own, and the memory queue driver (QUEUE_DRIVER=memory, the default without REDIS_URL) keeps jobs inside one process, so this worker would never see a job; set REDIS_URL to share the queues through Redis, or run "npx topiq serve --workers", whose workers run in the app process',
      );
    }
    const { flags } = this;
    const worker = app.createWorker({
      // the queues `serve --workers` serves, so that a plain `queue:work` runs the app's jobs
      queues: flags.queue ?? app.settings.queue.worker.queues ?? queuesOfJobs(app.registry.classes()),
      ...defined({
        concurrency: flags.concurrency,
        tries: flags.tries,
        timeout: flags.timeout,
        backoff: flags.backoff,
        sleep: flags.sleep,
        once: flags.once,
        stopWhenEmpty: flags.stopWhenEmpty,
        maxJobs: flags.maxJobs,
        maxTime: flags.maxTime,
        memory: flags.memory,
        name: flags.name,
        leaseMs: flags.lease,
        prefetch: flags.prefetch === 'auto' ? undefined : flags.prefetch,
      }),
    });
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      received++;
      if (received === 1) {
        app.log.info(
          { event: 'worker.signal', worker: worker.name, signal },
          'stopping: running jobs may finish, the rest are released',
        );
        worker.stop();
        return;
      }
      app.log.warn(
        { event: 'worker.forced_exit', worker: worker.name, signal },
        'second signal: exiting now; leases expire and jobs rerun',
      );
      this.context.forceExit(1);
    };
    const { signals } = this.context;
    for (const signal of SIGNALS) signals.on(signal, onSignal);
    // the log's reader said "enough": a graceful stop, as on a signal, but not counted as one,
    // so that a Ctrl-C after it still waits for the running jobs (nobody saw this stop begin)
    const stopListening = onLogReaderGone(app.log, () => worker.stop());
    const crash = stopOnCrash(signals, app.log, () => worker.stop());
    try {
      await worker.run();
      return crash.crashed ? 1 : 0;
    } finally {
      crash.dispose();
      stopListening();
      for (const signal of SIGNALS) signals.off(signal, onSignal);
    }
  }
}

/**
 * The queues of `jobs` in order of first appearance, then `default`: what `serve --workers`
 * and `queue:work` serve when neither `--queue` nor `WORKER_QUEUES` names them. The order is
 * strict, so the order of the job list in app/jobs/index.ts decides which queue goes first.
 *
 * @example
 * queuesOfJobs([SendNotificationJob, ProcessSensorDataJob]); // ['notifications', 'telemetry', 'default']
 */
export function queuesOfJobs(jobs: readonly JobClass[]): string[] {
  return [...new Set([...jobs.map((job) => job.queue ?? 'default'), 'default'])];
}

/** `options` without its undefined entries, so config defaults are not overwritten. */
function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
