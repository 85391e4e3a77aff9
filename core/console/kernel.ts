/**
 * The console kernel: turns a registry of command classes into a commander program, runs
 * one command line through it and returns the exit code. It owns the application's
 * lifetime for the run: built lazily through the factory the first time a command asks
 * for it (so `--help` and usage errors never touch Redis), and always closed before
 * `handle()` returns.
 */
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Application } from '../application.js';
import { InvalidOptionError } from '../errors.js';
import type { CommandClass, CommandContext, ConsoleIO, SignalSource } from './command.js';
import { ExitCode, reportError } from './exit_codes.js';

/** What a {@link Kernel} is built from. */
export interface KernelOptions {
  /** Every command this program offers, listed in `--help` in this order. */
  commands: readonly CommandClass[];
  /**
   * Builds the application; called at most once per `handle()`, only when a command needs it,
   * with whether that command reads or changes queues ({@link CommandClass.readsQueues}).
   */
  createApplication: (command: { readsQueues: boolean }) => Application | Promise<Application>;
  /** The program name shown in help (default `topiq`). */
  name?: string;
  /** Shown by `--version` when set. */
  version?: string;
  /** Terminal streams; defaults to the process's. */
  io?: Partial<ConsoleIO>;
  /** Source of SIGINT/SIGTERM (default `process`). */
  signals?: SignalSource;
  /** Ends the process at once on a second signal (default `process.exit`). */
  forceExit?: (code: number) => void;
}

/**
 * Runs `npx topiq` command lines.
 *
 * @example
 * const kernel = new Kernel({ commands: [QueueWorkCommand], createApplication: () => createApplication() });
 * process.exitCode = await kernel.handle(process.argv.slice(2));
 */
export class Kernel {
  readonly commands: ReadonlyMap<string, CommandClass>;
  readonly #options: KernelOptions;
  readonly #io: ConsoleIO;

  constructor(options: KernelOptions) {
    const commands = new Map<string, CommandClass>();
    for (const command of options.commands) {
      if (!command.commandName)
        throw new InvalidOptionError(`command class ${command.name} has no commandName`);
      if (commands.has(command.commandName)) {
        throw new InvalidOptionError(`two command classes are registered as "${command.commandName}"`);
      }
      commands.set(command.commandName, command);
    }
    this.commands = commands;
    this.#options = options;
    this.#io = { ...defaultIO(), ...options.io };
  }

  /** Parses and runs one command line (without the program name); resolves to the exit code. */
  async handle(argv: readonly string[]): Promise<number> {
    const io = this.#io;
    let application: Promise<Application> | undefined;
    let running: CommandClass | undefined;
    const context: CommandContext = {
      io,
      application: () => {
        const readsQueues = running?.readsQueues ?? true;
        application ??= Promise.resolve().then(() => this.#options.createApplication({ readsQueues }));
        return application;
      },
      signals: this.#options.signals ?? process,
      forceExit: this.#options.forceExit ?? ((code) => process.exit(code)),
    };
    let active: string | undefined;
    let exitCode: number = ExitCode.ok;
    const program = this.#program((name) => {
      active = name;
    });
    for (const commandClass of this.commands.values()) {
      const command = program.command(commandClass.commandName).description(commandClass.description);
      commandClass.configure(command);
      refuseRepeatedFlags(command);
      command.action(async (...values: unknown[]) => {
        running = commandClass;
        const parsed = values.at(-1) as Command;
        const instance = new commandClass(context, parsed.processedArgs, parsed.opts());
        exitCode = (await instance.run()) ?? ExitCode.ok;
      });
    }
    try {
      if (argv.length === 0) {
        io.stdout.write(program.helpInformation());
        return ExitCode.ok;
      }
      await program.parseAsync(asked(program, argv), { from: 'user' });
    } catch (error) {
      exitCode = reportError(error, io.stderr, active);
    }
    if (application) {
      try {
        const app = await application.catch(() => undefined);
        await app?.close();
      } catch (error) {
        const code = reportError(error, io.stderr);
        if (exitCode === ExitCode.ok) exitCode = code;
      }
    }
    return exitCode;
  }

  #program(onCommand: (name: string) => void): Command {
    const io = this.#io;
    const name = this.#options.name ?? 'topiq';
    const program = new Command(name)
      .description('Topiq: MQTT topics in, typed jobs out.')
      .usage('<command> [arguments] [flags]')
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
        // Errors are printed once, as one line, by reportError.
        outputError: () => {},
      })
      .showSuggestionAfterError(true)
      .allowExcessArguments(false)
      .hook('preSubcommand', (_program, subcommand) => onCommand(subcommand.name()));
    if (this.#options.version) program.version(this.#options.version, '-V, --version', 'print the version');
    program.addHelpText(
      'after',
      `\nRun "npx ${name} <command> --help" for a command's flags.\n` +
        'Exit codes: 0 done, 1 failed, 2 bad command line.\n',
    );
    return program;
  }
}

/**
 * The command line to parse. `help <name>` for a name that is no command of `program` (by its
 * name or an alias) becomes `<name>`: commander would print the general help and exit 0, where
 * `npx topiq <name>` is a usage error with a suggestion, and both should say the same.
 */
function asked(program: Command, argv: readonly string[]): string[] {
  const [first, name] = argv;
  if (first !== 'help' || name === undefined || name === 'help' || name.startsWith('-')) return [...argv];
  const known = program.commands.some(
    (command) => command.name() === name || command.aliases().includes(name),
  );
  return known ? [...argv] : [name];
}

/**
 * A flag that may be given more than once because its parser collects the values: it gets the
 * list so far as `previous` and returns it with the new value added. Only a flag declared with
 * this class may repeat; for every other flag that takes a value a repeat is a usage error
 * ({@link refuseRepeatedFlags}). None of the built-in commands has one.
 *
 * @example
 * command.addOption(
 *   new CollectingOption('--tag <tag>', 'a tag; repeat for more').argParser(
 *     (value: string, previous: string[] = []) => [...previous, value],
 *   ),
 * );
 */
export class CollectingOption extends Option {}

/**
 * Makes every flag that takes a value refuse to be given twice: commander keeps the last value
 * silently, so `--queue=a --queue=b` would work only `b`. Flags without a value (`--json`) may
 * repeat harmlessly, and so may a flag declared as a {@link CollectingOption} or variadic
 * (`<values...>`). Whether a parser's result happens to hold the earlier value is no sign: a
 * comma list (`--queue=a --queue=a,b`) does so without collecting anything. Each `handle()`
 * builds its commands afresh, so the count starts at zero.
 */
export function refuseRepeatedFlags(command: Command): void {
  for (const option of command.options) {
    if (option.variadic || !(option.required || option.optional)) continue;
    if (option instanceof CollectingOption) continue;
    const parse = option.parseArg;
    let given = false;
    option.argParser((value: string, previous: unknown) => {
      if (given) {
        throw new InvalidArgumentError(
          `The flag was given more than once; give it once${option.long === '--queue' ? ' (several queues: --queue=high,default)' : ''}.`,
        );
      }
      given = true;
      return parse ? parse(value, previous) : value;
    });
  }
}

function defaultIO(): ConsoleIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: Boolean(process.stdin.isTTY),
    confirm: async (question) => {
      const prompt = createInterface({ input: process.stdin, output: process.stdout });
      try {
        const answer = await prompt.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        prompt.close();
      }
    },
  };
}
