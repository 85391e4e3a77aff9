/** A pino logger whose lines a test can read back, to check that an event was logged. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/index.js';

/** A logger and the lines it wrote, parsed. */
export interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
  /** Lines whose `event` field is `event`. */
  events(event: string): Record<string, unknown>[];
}

/**
 * @example
 * const log = capturingLogger('warn');
 * const server = await createServer({ env, log: log.logger });
 * expect(log.events('ingest.store_failed')).not.toHaveLength(0);
 */
export function capturingLogger(level = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return {
    logger: createLogger({ level, destination }),
    lines,
    events: (event) => lines.filter((line) => line.event === event),
  };
}
