/**
 * The base class of every `npx topiq` command, in the AdonisJS Ace manner: a class with a
 * static `commandName`, a `description` and a `configure()` that declares its arguments
 * and flags on a commander `Command`. The kernel parses the command line (rejecting bad
 * values before anything runs), then builds the class with the parsed values and calls
 * `run()`. Commands reach the application only through `this.app()`, so the application
 * (and its Redis connection) is built only by commands that need it.
 */
import type { Command } from 'commander';
import type { Application } from '../application.js';
import { formatJson, renderTable, type TableColumn, type TextSink } from './output.js';
import { assertKnownQueues } from '../queue/job_lookup.js';

/** The terminal a command talks to. */
export interface ConsoleIO {
  stdout: TextSink;
  stderr: TextSink;
  /** True when a person can answer questions (stdin is a terminal). */
  interactive: boolean;
  /** Asks a yes/no question; resolves to true only on an explicit yes. */
  confirm(question: string): Promise<boolean>;
}

/**
 * Where shutdown signals come from (`process`, or an EventEmitter in tests), and the errors no
 * code handled (`unhandledRejection`, `uncaughtException`), which a long-running command turns
 * into a graceful stop (see `stopOnCrash`).
 */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  on(event: CrashEvent, listener: (error: unknown) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: CrashEvent, listener: (error: unknown) => void): unknown;
}

/** The process events of an error no code handled. */
export type CrashEvent = 'unhandledRejection' | 'uncaughtException';

/** What the kernel gives every command. */
export interface CommandContext {
  io: ConsoleIO;
  /** The application, built on first call and closed by the kernel after `run()`. */
  application(): Promise<Application>;
  signals: SignalSource;
  /** Ends the process at once (a second Ctrl-C); `process.exit` outside tests. */
  forceExit(code: number): void;
}

/**
 * A command class as the kernel registers it.
 *
 * Instances are abstract in general; every concrete subclass of {@link BaseCommand}
 * satisfies this type.
 */
export interface CommandClass {
  readonly commandName: string;
  readonly description: string;
  /** Whether the command reads or changes queues (see {@link BaseCommand.readsQueues}). */
  readonly readsQueues: boolean;
  /** Declares arguments and flags (with their parsers) on the commander command. */
  configure(command: Command): void;
  // `any`: each command class narrows its own args and flags.
  new (context: CommandContext, args: any, flags: any): BaseCommand<any, any>;
}

/**
 * Base class of commands. `Flags` is the object commander builds from the declared
 * options (camelCased: `--max-jobs` becomes `maxJobs`); `Args` the parsed positional
 * arguments, in order.
 *
 * @example
 * export class QueueFlushCommand extends BaseCommand<{ queue?: string }> {
 *   static override readonly commandName = 'queue:flush';
 *   static override readonly description = 'Delete every failed job';
 *
 *   static override configure(command: Command): void {
 *     command.addOption(new Option('--queue <name>', 'only this queue').argParser(parseQueueName));
 *   }
 *
 *   async run(): Promise<number> {
 *     const app = await this.app();
 *     const deleted = await new FailedJobs(app.driver).flush(this.flags.queue);
 *     this.line(`Deleted ${deleted} failed jobs.`);
 *     return 0;
 *   }
 * }
 */
export abstract class BaseCommand<Flags extends object = Record<string, never>, Args extends unknown[] = []> {
  /** The name typed after `npx topiq`, e.g. `queue:work`. */
  static readonly commandName: string = '';
  /** One line shown in `npx topiq --help`. */
  static readonly description: string = '';
  /**
   * Whether the command reads or changes queues. False for commands that only list what the
   * app defines (routes, job types): the in-memory driver's warning that jobs are not durable
   * is not logged for them, as they store nothing.
   */
  static readonly readsQueues: boolean = true;

  /** Declares arguments and flags; the default declares none. */
  static configure(_command: Command): void {}

  readonly context: CommandContext;
  readonly args: Args;
  readonly flags: Flags;

  constructor(context: CommandContext, args: Args, flags: Flags) {
    this.context = context;
    this.args = args;
    this.flags = flags;
  }

  /** Does the work; resolves to the exit code (0 when omitted). Throw for failures. */
  abstract run(): Promise<number | void>;

  /** The application (built on first use). */
  protected app(): Promise<Application> {
    return this.context.application();
  }

  /**
   * The application, once the queue or queues that `--queue` names (when the command has the
   * flag and it was given) are known to have had a job pushed to them: `E_QUEUE_NOT_FOUND`
   * otherwise, so an operator's typo is not read as an empty queue. For the commands that read
   * or change jobs.
   */
  protected async appWithKnownQueue(): Promise<Application> {
    const app = await this.app();
    const { queue } = this.flags as { queue?: unknown };
    if (typeof queue === 'string') await assertKnownQueues(app.driver, [queue]);
    else if (Array.isArray(queue)) await assertKnownQueues(app.driver, queue as string[]);
    return app;
  }

  /** Writes one line to stdout. */
  protected line(text: string): void {
    this.context.io.stdout.write(`${text}\n`);
  }

  /** Writes `value` as indented JSON to stdout. */
  protected json(value: unknown): void {
    this.context.io.stdout.write(formatJson(value));
  }

  /** Writes one line to stderr: a note that must not mix into JSON on stdout. */
  protected note(text: string): void {
    this.context.io.stderr.write(`${text}\n`);
  }

  /** Writes rows as a text table to stdout. */
  protected table<Row>(columns: readonly TableColumn<Row>[], rows: readonly Row[]): void {
    this.context.io.stdout.write(renderTable(columns, rows));
  }
}
