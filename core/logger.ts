/**
 * Structured logging. One pino logger per application; modules take child loggers
 * bound to what they work on (job id, queue, topic) so each event is one JSON line.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerSettings {
  /** pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. */
  level: string;
  /** Application name, put on every line as `app`. */
  name?: string;
  /** Write pretty single-line text instead of JSON (development only). */
  destination?: NodeJS.WritableStream;
}

/**
 * Builds the application's root logger.
 *
 * @example
 * const log = createLogger({ level: 'info', name: 'topiq' });
 * log.child({ queue: 'emails' }).info('worker started');
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: settings.name ? { app: settings.name } : null,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return settings.destination ? pino(options, settings.destination as never) : pino(options);
}

/** A logger that discards everything, for tests and library use without an app. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
