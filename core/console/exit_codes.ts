/**
 * How a failure becomes an exit code and what the operator sees. Usage mistakes (unknown
 * command or flag, bad value) exit 2 with one line naming the mistake and the `--help` to
 * read; known Topiq errors exit 1 with `error E_CODE: message`; anything else is a bug or
 * an outage we did not foresee, so it exits 1 with the full stack.
 */
import { CommanderError } from 'commander';
import { isTopiqError } from '../errors.js';
import type { TextSink } from './output.js';

/** The exit codes of `npx topiq`. */
export const ExitCode = {
  /** The command did what was asked. */
  ok: 0,
  /** The command ran and failed (a Topiq error or an unexpected one). */
  failure: 1,
  /** The command line was wrong; nothing was done. */
  usage: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Commander's codes for "help or version was printed", which are successes. */
const INFORMATIONAL = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** True when commander threw only to say it printed help or the version. */
export function isInformational(error: unknown): boolean {
  return error instanceof CommanderError && INFORMATIONAL.has(error.code);
}

/**
 * Prints `error` to `stderr` and returns the exit code it maps to.
 *
 * @param helpHint The command whose `--help` the operator should read, if known.
 * @example
 * catch (error) { return reportError(error, process.stderr, 'queue:work'); }
 */
export function reportError(error: unknown, stderr: TextSink, helpHint?: string): ExitCode {
  if (error instanceof CommanderError) {
    if (isInformational(error)) return ExitCode.ok;
    stderr.write(`${usageLine(error.message, helpHint)}\n`);
    return ExitCode.usage;
  }
  if (isTopiqError(error, 'E_CLI_USAGE')) {
    stderr.write(`${usageLine(error.message, helpHint)}\n`);
    return ExitCode.usage;
  }
  if (isTopiqError(error)) {
    stderr.write(`error ${error.code}: ${oneLine(error.message)}\n`);
    return ExitCode.failure;
  }
  const trace = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  stderr.write(`${trace}\n`);
  return ExitCode.failure;
}

/** `error E_CLI_USAGE: <what was wrong>. Run "npx topiq <command> --help" to see ...` */
function usageLine(message: string, helpHint: string | undefined): string {
  const what = oneLine(message.replace(/^error:\s*/, '')).replace(/[.\s]*$/, '');
  const help = helpHint
    ? `Run "npx topiq ${helpHint} --help" to see its arguments and flags.`
    : 'Run "npx topiq --help" to see the commands.';
  return `error E_CLI_USAGE: ${what}. ${help}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
