/**
 * How a finished command ends its process. The process normally exits by itself once nothing
 * is left to do; but a job handler that ignored its AbortSignal past the shutdown grace period
 * (its job already released) still holds the event loop with its timers or sockets, and the
 * process would outlive the command that ran it.
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
