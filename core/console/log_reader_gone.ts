/**
 * For the commands whose output is their log (`queue:work`, `serve`): the reader of that log
 * going away (`npx topiq queue:work | head -n 3`, once head has its lines) is how a pipeline
 * says "enough", and such a command then stops as on SIGTERM. pino takes the closed pipe
 * quietly (its destination drops every later line), so without this the process would run on,
 * logging to nobody, and the pipeline would not end until it was killed.
 */
import { type Logger, logReaderOf } from '../logger.js';

/**
 * Calls `onGone` once, when a write of `log` finds its destination's reader gone (EPIPE); a
 * reader that goes is seen at the next line written, as with any Unix pipe. A reader already
 * gone when this is called (the pipe closed before the command listened: `npx topiq serve |
 * true`) is told on the next tick, for the logger `createLogger` builds on the standard
 * output, which records it from the start. Any other error of the destination is thrown as
 * before when nothing else listens for it. Returns a function that stops listening.
 *
 * @example
 * const stopListening = onLogReaderGone(app.log, () => worker.stop());
 * try { await worker.run(); } finally { stopListening(); }
 */
export function onLogReaderGone(log: Logger, onGone: () => void): () => void {
  const reader = logReaderOf(log);
  if (!reader) return () => {};
  if (!reader.gone) return reader.listen(onGone);
  // on the next tick, as a write's EPIPE would come: after the caller began what it stops
  let listening = true;
  process.nextTick(() => {
    if (listening) onGone();
  });
  return () => {
    listening = false;
  };
}
