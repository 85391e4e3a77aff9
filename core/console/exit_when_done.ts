/**
 * How a command ends its process. The process normally exits by itself once nothing is left to
 * do; but a job handler that ignored its AbortSignal past the shutdown grace period (its job
 * already released) still holds the event loop with its timers or sockets, and the process
 * would outlive the command that ran it. And a command whose output's reader has gone
 * (`npx topiq job:list | head -5`) stops there.
 */

/** How long a finished command's process may linger before it is ended (ms). */
export const LINGER_MS = 2000;

/**
 * Sets the exit code, and ends the process `lingerMs` after, should anything still hold it
 * (an unreferenced timer: a process that exits by itself sooner is not kept waiting).
 *
 * @example
 * exitWhenDone(await main(process.argv.slice(2)));
 */
export function exitWhenDone(code: number, lingerMs = LINGER_MS): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), lingerMs).unref();
}

/**
 * Ends the process quietly, exit code 0, once the reader of `stream` has gone (a write failed
 * with EPIPE), as `git log | head` and `ls | head` do: what was read was all that was wanted,
 * so there is nothing to report. Any other error on `stream` is thrown as before.
 *
 * @example
 * exitWhenReaderGone(process.stdout);
 */
export function exitWhenReaderGone(
  stream: NodeJS.WritableStream,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    exit(0);
  });
}
