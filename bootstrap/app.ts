/**
 * Builds the application from `config/` (environment + .env) and `app/` (jobs, routes).
 * The CLI and `npm start` call this; tests call it with their own environment.
 */
// first: the app's modules may read process.env as they load
import './env_file.js';
import { jobs } from '../app/jobs/index.js';
import appConfig from '../config/app.js';
import queueConfig from '../config/queue.js';
import { readSections } from '../core/config/define_config.js';
import { warnOfCutCredentials } from '../core/config/env_file_check.js';
import {
  Application,
  type AppSettings,
  createLogger,
  type Logger,
  type QueueDriver,
  type QueueSettings,
} from '../core/index.js';
import { envFilePath, namingEnvFile } from './env_file.js';

export interface CreateApplicationOptions {
  /** Environment to read config from (default `process.env`, after `.env`). */
  env?: Record<string, string | undefined>;
  log?: Logger;
  driver?: QueueDriver;
  /** Write logs to stderr (CLI commands whose stdout is their output, e.g. `--json`). */
  logToStderr?: boolean;
  /** Log that the in-memory driver keeps nothing (default true; off for commands that store nothing). */
  memoryDriverWarning?: boolean;
}

/**
 * Reads config and builds the application, bound as the target of `SomeJob.dispatch()`.
 * `settings`: the `app` and `queue` sections already read from the same environment (by
 * `createServer`, which reads every section at once), not read again.
 */
export function createApplication(
  options: CreateApplicationOptions = {},
  settings?: { app: AppSettings; queue: QueueSettings },
): Application {
  const env = options.env ?? process.env;
  const { app, queue } =
    settings ??
    namingEnvFile(env, () => {
      const [appSettings, queueSettings] = readSections(env, [appConfig, queueConfig]);
      return { app: appSettings, queue: queueSettings };
    });
  const log =
    options.log ??
    (options.logToStderr
      ? createLogger({ level: app.logLevel, name: app.name, destination: process.stderr })
      : undefined);
  const application = new Application({
    app,
    queue,
    jobs,
    ...(log ? { log } : {}),
    ...(options.driver ? { driver: options.driver } : {}),
    ...(options.memoryDriverWarning === false ? { memoryDriverWarning: false } : {}),
  }).bindQueue();
  // the file loaded above, when the environment is the one it filled
  if (!options.env) warnOfCutCredentials(envFilePath(), application.log);
  return application;
}
