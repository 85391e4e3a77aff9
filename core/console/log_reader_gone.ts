/**
 * For the commands whose output is their log (`queue:work`, `serve`): the reader of that log
 * going away (`npx topiq queue:work | head -n 3`, once head has its lines) is how a pipeline
 * says "enough", and such a command then stops as on SIGTERM. pino takes the closed pipe
 * quietly (its destination drops every later line), so without this the process would run on,
 * logging to nobody, and the pipeline would not end until it was killed.
 */
import { EventEmitter } from 'node:events';
import { type Logger, symbols } from 'pino';

/**
 * Calls `onGone` once, when a write of `log` finds its destination's reader gone (EPIPE); a
 * reader that goes is seen at the next line written, as with any Unix pipe. Any other error of
 * the destination is thrown as before when nothing else listens for it. Returns a function
 * that stops listening.
 *
 * @example
 * const stopListening = onLogReaderGone(app.log, () => worker.stop());
 * try { await worker.run(); } finally { stopListening(); }
 */
export function onLogReaderGone(log: Logger, onGone: () => void): () => void {
  const destination = (log as unknown as Record<symbol, unknown>)[symbols.streamSym];
  if (!(destination instanceof EventEmitter)) return () => {};
  let gone = false;
  const onError = (error: NodeJS.ErrnoException) => {
    if (error?.code !== 'EPIPE') {
      // alone, as if not listening: an error pino does not take stays uncaught
      if (destination.listenerCount('error') === 1) throw error;
      return;
    }
    if (gone) return;
    gone = true;
    onGone();
  };
  destination.on('error', onError);
  return () => {
    destination.off('error', onError);
  };
}
