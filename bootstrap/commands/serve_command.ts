/**
 * `npx topiq serve`: runs the IoT backend. Without `MQTT_URL` it starts the embedded
 * broker (port `MQTT_BROKER_PORT`, default 1883); with it, it subscribes to that broker.
 * `--workers` also runs queue workers in this process, for small deployments and the
 * zero-setup `npm start`. SIGINT/SIGTERM stop it gracefully, and so does its log's reader
 * going (`npx topiq serve | head -n 3`); exit code 0.
 */
import { type Command, Option } from 'commander';
import { BaseCommand } from '../../core/console/command.js';
import { stopOnCrash } from '../../core/console/crash_stop.js';
import { onLogReaderGone } from '../../core/console/log_reader_gone.js';
import { queuesOfJobs } from '../../core/console/commands/queue_work_command.js';
import { redisAnswers } from '../../core/queue/drivers/redis/redis_answers.js';
import { parsePort, parseConcurrency, parsePrefetch, parseQueueNames } from '../../core/console/parsers.js';
import {
  CliUsageError,
  type InProcessWorkers,
  jobNameOf,
  type MqttSettings,
  type QueueSettings,
} from '../../core/index.js';

export interface ServeFlags {
  workers?: boolean;
  queue?: string[];
  concurrency?: number;
  prefetch?: number | 'auto';
  port?: number;
}

export class ServeCommand extends BaseCommand<ServeFlags> {
  static override readonly commandName = 'serve';
  static override readonly description = 'Run the app: MQTT routes (embedded broker unless MQTT_URL is set)';

  static override configure(command: Command): void {
    command
      .addOption(new Option('--workers', 'also run queue workers in this process'))
      .addOption(
        new Option(
          '--queue <names>',
          'queues for --workers, strict order (default WORKER_QUEUES, else every queue of app/jobs, plus default)',
        ).argParser(parseQueueNames),
      )
      .addOption(
        new Option(
          '--concurrency <n>',
          'jobs run at once by --workers (default WORKER_CONCURRENCY, 10)',
        ).argParser(parseConcurrency),
      )
      .addOption(
        new Option(
          '--prefetch <n>',
          'jobs each --workers worker holds reserved ahead, 0 to 10000, or auto: decided from job and reserve times (default WORKER_PREFETCH, auto)',
        ).argParser(parsePrefetch),
      )
      .addOption(
        new Option('--port <port>', 'embedded broker port (default MQTT_BROKER_PORT, 1883)').argParser(
          parsePort,
        ),
      );
  }

  async run(): Promise<number> {
    const { createServer } = await import('../server.js');
    const { flags } = this;
    const broker = await this.#checkFlags();
    const server = await createServer(broker ? { mqtt: { broker } } : {});
    const { app } = server;
    let stopping: Promise<void> | undefined;
    let markStopped!: () => void;
    const stopRequested = new AbortController();
    const stopped = new Promise<void>((resolve) => {
      markStopped = resolve;
    });
    const beginStop = (reason: string) => {
      if (stopping) return;
      stopRequested.abort();
      stopping = server.stop({ reason }).finally(markStopped);
    };
    let signalled = false;
    const stop = (signal: NodeJS.Signals) => {
      if (signalled) {
        app.log.warn({ event: 'server.forced_exit', signal }, 'second signal: exiting now');
        this.context.forceExit(1);
        return;
      }
      signalled = true;
      app.log.info({ event: 'server.signal', signal }, 'stopping gracefully');
      beginStop(signal);
    };
    const { signals } = this.context;
    signals.on('SIGINT', stop);
    signals.on('SIGTERM', stop);
    // the log's reader said "enough": a graceful stop, but no signal, so a Ctrl-C after it is
    // the first (nobody saw this stop begin) and still lets the stop finish
    const stopListening = onLogReaderGone(app.log, () => beginStop('log-reader-gone'));
    const crash = stopOnCrash(signals, app.log, () => beginStop('crash'));
    try {
      const jobQueues = queuesOfJobs(app.registry.classes());
      await server.start(
        flags.workers ? { workers: inProcessWorkers(flags, app.settings.queue.worker, jobQueues) } : {},
      );
      // ready once the store answers too (a refused password fails the start); not when a
      // stop came during the start
      const { redis } = app;
      const answers = redis === undefined || (await redisAnswers(redis, app.log, stopRequested.signal));
      if (answers && !stopRequested.signal.aborted) {
        app.log.info(
          { event: 'server.ready', jobs: app.registry.classes().map((job) => jobNameOf(job)) },
          'ready; Ctrl-C to stop',
        );
      }
      await stopped;
      return crash.crashed ? 1 : 0;
    } catch (error) {
      // a start cut short by a signal is a stop, not a failure (by a crash, it is)
      if (stopRequested.signal.aborted) {
        await stopped;
        return crash.crashed ? 1 : 0;
      }
      await server.stop({ reason: 'start-failed' }).catch(() => {});
      throw error;
    } finally {
      crash.dispose();
      stopListening();
      signals.off('SIGINT', stop);
      signals.off('SIGTERM', stop);
    }
  }

  /**
   * Refuses flags that would be ignored (worker flags without --workers, --port with MQTT_URL);
   * resolves to the embedded broker's settings with --port's port, when it is given.
   */
  async #checkFlags(): Promise<MqttSettings['broker'] | undefined> {
    const { flags } = this;
    const workerFlags = [
      ...(flags.queue ? ['--queue'] : []),
      ...(flags.concurrency !== undefined ? ['--concurrency'] : []),
      ...(flags.prefetch !== undefined ? ['--prefetch'] : []),
    ];
    if (!flags.workers && workerFlags.length > 0) {
      const last = workerFlags.pop()!;
      const named =
        workerFlags.length > 0 ? `${workerFlags.join(', ')} and ${last} apply` : `${last} applies`;
      throw new CliUsageError(
        `${named} to the workers of --workers; add --workers, or run them with queue:work`,
      );
    }
    if (flags.port === undefined) return undefined;
    // every section, after .env: all bad values in one error, before anything starts
    const { readAppConfig } = await import('../config.js');
    const { mqtt } = readAppConfig();
    if (mqtt.url !== undefined) {
      throw new CliUsageError(
        "--port sets the embedded broker's port, but MQTT_URL is set, so serve uses that broker and starts none; unset MQTT_URL, or drop --port",
      );
    }
    return { ...mqtt.broker, port: flags.port };
  }
}

/**
 * The workers of `serve --workers`: each flag given wins over its `WORKER_*` setting; the
 * queues default to those of the app's jobs, and the prefetch to the worker's own choice.
 */
export function inProcessWorkers(
  flags: ServeFlags,
  settings: QueueSettings['worker'],
  jobQueues: readonly string[],
): InProcessWorkers {
  const prefetch = flags.prefetch === 'auto' ? undefined : (flags.prefetch ?? settings.prefetch);
  return {
    queues: (flags.queue ?? settings.queues ?? jobQueues).join(','),
    concurrency: flags.concurrency ?? settings.concurrency,
    ...(prefetch === undefined ? {} : { prefetch }),
  };
}
