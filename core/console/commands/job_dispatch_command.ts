/**
 * `npx topiq job:dispatch <JobName>`: dispatches a registered job from the command line.
 * The name goes through the job registry (so only allowlisted classes can run) and the
 * payload through the job's schema, exactly as an untrusted MQTT command would. A `--job-id`
 * that a job of the queue has already adds nothing: it says so and exits 0 (the job the caller
 * meant exists), with `"duplicate": true` under `--json`.
 */
import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { CliUsageError } from '../../errors.js';
import {
  type DispatchOptions,
  expiresBeforeStart,
  LATEST_DISPATCH_MS,
  MAX_TRIES,
} from '../../queue/dispatch_options.js';
import { assertPriority } from '../../queue/registry.js';
import { BaseCommand } from '../command.js';
import {
  parseDelaySeconds,
  parseDescription,
  parseNewJobId,
  parseOwner,
  parseQueueName,
  parseWholeNumberUpTo,
} from '../parsers.js';
import { assertDurableDriver } from '../../config/durable_driver.js';

/** The flags of `job:dispatch`, as parsed. */
export interface JobDispatchFlags {
  /** Boxed: Commander turns an option parser's `null` into `''`, and `null` is a JSON payload. */
  payload: { value: unknown };
  queue?: string;
  delay?: number;
  priority?: number;
  runAt?: Date;
  expiresAt?: Date;
  tries?: number;
  jobId?: string;
  hold?: boolean;
  owner?: string;
  description?: string;
  json?: boolean;
}

/** What `job:dispatch --json` prints. */
export interface JobDispatchOutput {
  id: string;
  name: string;
  queue: string;
  /** True when a job with this id (`--job-id`) was in the queue already: nothing was added. */
  duplicate: boolean;
}

/** Accepts any JSON text (the job's schema decides what is valid). */
export function parseJsonPayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(
      `The payload is not JSON (${reason}). Quote it for the shell, e.g. --payload '{"to":"ops@example.com"}'.`,
    );
  }
}

/** A date, or a date and time with an optional `Z` or `+02:00` offset. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Accepts an ISO 8601 time (`2030-01-31T09:00:00Z`); without an offset it is local time, and
 * a bare date (`2030-01-31`) is local midnight.
 */
export function parseIsoTime(text: string): Date {
  const trimmed = text.trim();
  // JavaScript reads a bare date as UTC midnight but a date and time without offset as local
  const local = trimmed.length === 10 ? `${trimmed}T00:00:00` : trimmed;
  const time = ISO_TIME.test(trimmed) && isCalendarDate(trimmed) ? new Date(local) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new InvalidArgumentError(
      'Expected an ISO 8601 time, e.g. 2030-01-31T09:00:00Z (local time when it has no Z or offset).',
    );
  }
  // what a job's times may be (the dispatcher's bound), refused here as a bad flag
  if (time.getTime() < 0 || time.getTime() > LATEST_DISPATCH_MS) {
    throw new InvalidArgumentError(
      `Expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z; got ${time.toISOString()} (UTC).`,
    );
  }
  return time;
}

/** Accepts `--tries`: a whole number from 1 to {@link MAX_TRIES}. */
export const parseTries = parseWholeNumberUpTo(MAX_TRIES, 'tries allowed, e.g. 5');

/** Whether the date that `text` starts with (YYYY-MM-DD) exists: JavaScript reads 2030-02-31 as March 3. */
function isCalendarDate(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
}

/** Accepts a priority: a whole number from -1000 (runs first) to 1000. */
export function parsePriority(text: string): number {
  const trimmed = text.trim();
  const value = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  try {
    assertPriority(value);
  } catch {
    throw new InvalidArgumentError('Expected a whole number from -1000 (runs first) to 1000 (runs last).');
  }
  return value;
}

/** Dispatches a registered job by name. */
export class JobDispatchCommand extends BaseCommand<JobDispatchFlags, [string]> {
  static override readonly commandName = 'job:dispatch';
  static override readonly description = 'Dispatch a registered job by name, with a JSON payload';

  static override configure(command: Command): void {
    command
      .addArgument(new Argument('<JobName>', "the job's registered name, e.g. SendEmailJob"))
      .addOption(
        new Option('--payload <json>', "the payload as JSON, checked against the job's schema")
          .argParser((text) => ({ value: parseJsonPayload(text) }))
          .default({ value: {} }, '{}'),
      )
      .addOption(
        new Option('--queue <name>', "queue to put it in (default: the job's queue)").argParser(
          parseQueueName,
        ),
      )
      .addOption(
        new Option('--delay <seconds>', 'wait this many seconds before it may run').argParser(
          parseDelaySeconds,
        ),
      )
      .addOption(
        new Option('--priority <n>', "from -1000 (runs first) to 1000; default: the job's").argParser(
          parsePriority,
        ),
      )
      .addOption(
        new Option('--run-at <time>', 'ISO 8601 time before which it must not run')
          .argParser(parseIsoTime)
          .conflicts('delay'),
      )
      .addOption(
        new Option('--expires-at <time>', 'ISO 8601 time after which, if not started, it expires').argParser(
          parseIsoTime,
        ),
      )
      .addOption(
        new Option('--tries <n>', "tries allowed (default: the job's maxTries)").argParser(parseTries),
      )
      .addOption(
        new Option('--job-id <id>', 'your own id; an id that already exists adds nothing').argParser(
          parseNewJobId,
        ),
      )
      .addOption(new Option('--hold', 'create it on hold (pending) until `job:release <id>`'))
      .addOption(
        new Option('--owner <owner>', 'who it is for: a device id, an account or a tenant').argParser(
          parseOwner,
        ),
      )
      .addOption(
        new Option('--description <text>', 'what it does, in one line (up to 500 characters)').argParser(
          parseDescription,
        ),
      )
      .addOption(new Option('--json', 'print {id, name, queue, duplicate} as JSON'))
      .addHelpText(
        'after',
        '\nExample:\n' +
          '  npx topiq job:dispatch SendEmailJob --payload \'{"to":"ops@example.com","subject":"hi","body":""}\'\n',
      );
  }

  async run(): Promise<number> {
    const [name] = this.args;
    const options = this.#dispatchOptions();
    const app = await this.app();
    assertDurableDriver(app.settings.queue);
    // the store's outcome kept: an existing --job-id adds nothing
    const { job, outcome } = await app.dispatcher.storeByName(name, this.flags.payload.value, options);
    const { id, queue } = job;
    const duplicate = outcome === 'duplicate';
    const nothingAdded = `job ${id} already exists in queue "${queue}": nothing added`;
    // stdout stays what scripts read (the id, or the object); the words go to stderr
    if (this.flags.json) this.json({ id, name, queue, duplicate } satisfies JobDispatchOutput);
    else this.line(id);
    if (duplicate) this.note(nothingAdded);
    return 0;
  }

  /** The dispatch options the flags ask for; rejects an expiry before the job may run. */
  #dispatchOptions(): DispatchOptions {
    const { queue, delay, priority, runAt, expiresAt, tries, jobId, hold, owner, description } = this.flags;
    const options: DispatchOptions = {
      ...(queue !== undefined ? { queue } : {}),
      ...(delay !== undefined ? { delay } : {}),
      ...(priority !== undefined ? { priority } : {}),
      ...(runAt !== undefined ? { runAt } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(tries !== undefined ? { maxTries: tries } : {}),
      ...(jobId !== undefined ? { jobId } : {}),
      ...(hold ? { hold: true } : {}),
      ...(owner !== undefined ? { owner } : {}),
      ...(description !== undefined ? { description } : {}),
    };
    const early = expiresBeforeStart(options);
    if (early) {
      throw new CliUsageError(
        `--expires-at ${new Date(early.expiresAt).toISOString()} is not after the time the job may run ` +
          `(${new Date(early.earliest).toISOString()}), so it would expire without running`,
      );
    }
    return options;
  }
}
