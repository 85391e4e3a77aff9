/**
 * Structured logging. One pino logger per application; modules take child loggers
 * bound to what they work on (job id, queue, topic) so each event is one JSON line.
 */
import { EventEmitter } from 'node:events';
import { type Logger, type LoggerOptions, pino, symbols } from 'pino';

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
 * Builds the application's root logger. When it writes to the standard output pino opens
 * (no `destination`), whether that output's reader went away is recorded from now on, so
 * `onLogReaderGone` learns of a reader gone before it listened (`npx topiq serve | true`).
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
  if (settings.destination) return pino(options, settings.destination as never);
  const log = pino(options);
  const destination = destinationOf(log);
  // pino's own stream on fd 1, which takes EPIPE quietly; not process.stdout itself (used when
  // something replaced its write), where a listener would change what an EPIPE does
  if (destination && destination !== process.stdout) watchReader(destination).kept = true;
  return log;
}

/** A logger that discards everything, for tests and library use without an app. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The reader of a log's destination: whether it went, and who is told when it goes. */
export interface LogReader {
  /** True once a write found the reader gone (EPIPE: the other end of the pipe closed). */
  readonly gone: boolean;
  /**
   * Calls `onGone` once, at the first write that finds the reader gone (not for one that went
   * before). Returns a function that stops listening.
   */
  listen(onGone: () => void): () => void;
}

interface ReaderWatch {
  gone: boolean;
  /** Watched from the logger's creation on, and for good (else only while someone listens). */
  kept: boolean;
  readonly listeners: Set<() => void>;
  readonly onError: (error: NodeJS.ErrnoException) => void;
}

/** One watch per destination, however many loggers (children) write to it. */
const readerWatches = new WeakMap<EventEmitter, ReaderWatch>();

/**
 * The reader of `log`'s destination, or `undefined` for a destination that reports no errors.
 * A destination {@link createLogger} opened was watched from the start; another is watched
 * while someone listens, so a reader gone before then is not known.
 */
export function logReaderOf(log: Logger): LogReader | undefined {
  const destination = destinationOf(log);
  if (!destination) return undefined;
  return {
    get gone() {
      return readerWatches.get(destination)?.gone ?? false;
    },
    listen(onGone) {
      const watch = watchReader(destination);
      watch.listeners.add(onGone);
      return () => {
        watch.listeners.delete(onGone);
        if (watch.listeners.size > 0 || watch.kept) return;
        destination.off('error', watch.onError);
        readerWatches.delete(destination);
      };
    },
  };
}

/** The stream `log` (or the root logger of a child) writes to, when it is an event emitter. */
function destinationOf(log: Logger): EventEmitter | undefined {
  const destination = (log as unknown as Record<symbol, unknown>)[symbols.streamSym];
  return destination instanceof EventEmitter ? destination : undefined;
}

/** The watch of `destination`'s reader, begun now if there is none. */
function watchReader(destination: EventEmitter): ReaderWatch {
  const known = readerWatches.get(destination);
  if (known) return known;
  const watch: ReaderWatch = {
    gone: false,
    kept: false,
    listeners: new Set(),
    onError: (error) => {
      if (error?.code !== 'EPIPE') {
        // alone, as if not listening: an error pino does not take stays uncaught
        if (destination.listenerCount('error') === 1) throw error;
        return;
      }
      if (watch.gone) return;
      watch.gone = true;
      const listeners = [...watch.listeners];
      watch.listeners.clear();
      for (const listener of listeners) listener();
    },
  };
  destination.on('error', watch.onError);
  readerWatches.set(destination, watch);
  return watch;
}
