import type { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import type { Application } from '../../../core/application.js';
import {
  BaseCommand,
  ExitCode,
  Kernel,
  parsePositiveInteger,
  QueueStatsCommand,
  queueCommands,
} from '../../../core/console/index.js';
import { CollectingOption } from '../../../core/console/kernel.js';
import { JobNotFoundError } from '../../../core/errors.js';
import { captureIO } from './capture_io.js';

class EchoCommand extends BaseCommand<{ times: number }, [string]> {
  static override readonly commandName = 'test:echo';
  static override readonly description = 'Print a word';
  static override configure(command: Command): void {
    command.alias('test:say').argument('<word>').option('--times <n>', 'repeat', parsePositiveInteger, 1);
  }
  async run(): Promise<number> {
    await this.app();
    for (let i = 0; i < this.flags.times; i++) this.line(this.args[0]);
    return 0;
  }
}

/** Adds a value to the list a repeated flag gave so far. */
const appendTag = (value: string, previous: string[] = []) => [...previous, value];

class TagCommand extends BaseCommand<{ tag: string[]; label?: string[] }> {
  static override readonly commandName = 'test:tag';
  static override readonly description = 'Print tags';
  static override configure(command: Command): void {
    command
      .addOption(new CollectingOption('--tag <t>', 'a tag; repeat for more').argParser(appendTag))
      // a parser that collects, on a flag not declared as collecting
      .option('--label <l>', 'a label', appendTag);
  }
  async run(): Promise<number> {
    this.line(this.flags.tag.join(','));
    return 0;
  }
}

class ThrowCommand extends BaseCommand<{ unexpected?: boolean }> {
  static override readonly commandName = 'test:throw';
  static override readonly description = 'Fail';
  static override configure(command: Command): void {
    command.option('--unexpected');
  }
  async run(): Promise<number> {
    await this.app();
    if (this.flags.unexpected) throw new TypeError('boom');
    throw new JobNotFoundError('no failed job has id x');
  }
}

function setup() {
  const io = captureIO();
  const close = vi.fn(async () => {});
  const createApplication = vi.fn(() => ({ close }) as unknown as Application);
  const kernel = new Kernel({
    commands: [...queueCommands, QueueStatsCommand, EchoCommand, TagCommand, ThrowCommand],
    createApplication,
    io,
    version: '1.2.3',
  });
  return { io, kernel, close, createApplication };
}

describe('Kernel.handle', () => {
  it('prints the command list for --help and for no arguments, exiting 0 without an application', async () => {
    for (const argv of [['--help'], []]) {
      const { io, kernel, createApplication } = setup();
      expect(await kernel.handle(argv)).toBe(ExitCode.ok);
      for (const name of ['queue:work', 'queue:failed', 'queue:clear', 'test:echo'])
        expect(io.out).toContain(name);
      expect(createApplication).not.toHaveBeenCalled();
    }
  });

  it('prints a command’s flags for <command> --help and exits 0', async () => {
    const { io, kernel } = setup();
    expect(await kernel.handle(['queue:work', '--help'])).toBe(0);
    for (const flag of [
      '--queue',
      '--concurrency',
      '--backoff',
      '--stop-when-empty',
      '--lease',
      '--prefetch',
    ]) {
      expect(io.out).toContain(flag);
    }
  });

  it('says the same for help <unknown command> as for the unknown command itself', async () => {
    const asked = setup();
    const typed = setup();
    expect(await asked.kernel.handle(['help', 'nosuch'])).toBe(ExitCode.usage);
    expect(await typed.kernel.handle(['nosuch'])).toBe(ExitCode.usage);
    expect(asked.io.err).toBe(typed.io.err);
  });

  it('prints a command’s help for help <alias>, running nothing', async () => {
    const { io, kernel, createApplication } = setup();
    expect(await kernel.handle(['help', 'test:say'])).toBe(ExitCode.ok);
    expect(io.out).toContain('--times');
    expect(createApplication).not.toHaveBeenCalled();
  });

  it('prints a command’s flags for help <command> and exits 0', async () => {
    const { io, kernel } = setup();
    expect(await kernel.handle(['help', 'queue:work'])).toBe(ExitCode.ok);
    expect(io.out).toContain('--concurrency');
    expect(io.err).toBe('');
  });

  it('prints the version for -V', async () => {
    const { io, kernel } = setup();
    expect(await kernel.handle(['-V'])).toBe(0);
    expect(io.out.trim()).toBe('1.2.3');
  });

  it.each([
    [['queue:wrk'], /unknown command 'queue:wrk' \(Did you mean queue:work\?\)\. Run "npx topiq --help"/],
    [['queue:work', '--bogus'], /unknown option '--bogus'\. Run "npx topiq queue:work --help"/],
    [
      ['queue:work', '--concurrency=abc'],
      /'--concurrency <n>' argument 'abc' is invalid\. Expected a whole number/,
    ],
    [['queue:work', '--concurrency=0'], /argument '0' is invalid/],
    [
      ['queue:work', '--concurrency=10001'],
      /argument '10001' is invalid\. Expected a whole number from 1 to 10000/,
    ],
    [['queue:work', '--queue=bad{name}'], /queue name "bad\{name\}" is not allowed/],
    [['queue:work', '--name=w{1}'], /worker name "w\{1\}" is not allowed/],
    [['queue:work', '--name', 'w'.repeat(129)], /worker name "w+" is not allowed: use 1-128 characters/],
    [['queue:work', '--backoff=x'], /'--backoff <seconds>' argument 'x' is invalid\. Expected seconds/],
    [['queue:work', 'extra'], /too many arguments for 'queue:work'/],
    [
      ['queue:work', '--once', '--concurrency=4'],
      /option '--once' cannot be used with option '--concurrency <n>'/,
    ],
    [['queue:work', '--max-jobs=3', '--once'], /option '--once' cannot be used with option '--max-jobs <n>'/],
    [
      ['queue:work', '--once', '--prefetch=10'],
      /option '--once' cannot be used with option '--prefetch <n>'/,
    ],
    [
      ['queue:failed', '--limit', '99999999999999999999999'],
      /'--limit <n>' argument '99999999999999999999999' is invalid\. Expected a whole number from 1 to 10000/,
    ],
    [['queue:retry'], /missing required argument 'ids'/],
    [['queue:retry', 'all', 'abc'], /either job ids or the single word "all"/],
    [['queue:clear'], /required option '--queue <name>' not specified/],
    [['queue:prune-failed', '--hours=-2'], /'--hours <n>' argument '-2' is invalid/],
    [['queue:clear', '--queue=emails'], /pass --force/],
    [
      ['queue:work', '--queue=a', '--queue=b'],
      /given more than once; give it once \(several queues: --queue=high,default\)/,
    ],
    [
      ['queue:failed', '--queue=a', '--limit=5', '--limit', '6'],
      /'--limit <n>' argument '6' is invalid\. The flag was given more than once/,
    ],
    // a later comma list holding the earlier one is a repeat too, not a collecting flag
    [
      ['queue:stats', '--queue=emails', '--queue=emails,ghosts'],
      /'--queue <names>' argument 'emails,ghosts' is invalid\. The flag was given more than once.*Run "npx topiq queue:stats --help"/,
    ],
    [
      ['queue:work', '--queue=high', '--queue=low,high'],
      /'--queue <names>' argument 'low,high' is invalid\. The flag was given more than once.*Run "npx topiq queue:work --help"/,
    ],
    [
      ['test:tag', '--tag=a', '--label=x', '--label=y'],
      /'--label <l>' argument 'y' is invalid\. The flag was given more than once/,
    ],
    [['help', 'nosuch'], /unknown command 'nosuch'\. Run "npx topiq --help"/],
    [
      ['help', 'queue:wrk'],
      /unknown command 'queue:wrk' \(Did you mean queue:work\?\)\. Run "npx topiq --help"/,
    ],
  ])('rejects %j with one line on stderr and exit code 2', async (argv, message) => {
    const { io, kernel, createApplication } = setup();
    expect(await kernel.handle(argv)).toBe(ExitCode.usage);
    expect(io.err).toMatch(/^error E_CLI_USAGE: /);
    expect(io.err).toMatch(message);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(io.out).toBe('');
    expect(createApplication).not.toHaveBeenCalled();
  });

  it('lets a flag declared as a CollectingOption be given more than once', async () => {
    const { io, kernel } = setup();
    expect(await kernel.handle(['test:tag', '--tag=a', '--tag=b'])).toBe(0);
    expect(io.out).toBe('a,b\n');
  });

  it('runs a command again with the same flag after a run that gave it once (each run counts afresh)', async () => {
    const { io, kernel } = setup();
    expect(await kernel.handle(['test:echo', 'a', '--times=1'])).toBe(0);
    expect(await kernel.handle(['test:echo', 'b', '--times=1'])).toBe(0);
    expect(io.out).toBe('a\nb\n');
  });

  it('runs a command with its parsed arguments and closes the application it built', async () => {
    const { io, kernel, close, createApplication } = setup();
    expect(await kernel.handle(['test:echo', 'hi', '--times=2'])).toBe(0);
    expect(io.out).toBe('hi\nhi\n');
    expect(createApplication).toHaveBeenCalledTimes(1);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('prints "error E_CODE: message" for a Topiq error and exits 1, closing the application', async () => {
    const { io, kernel, close } = setup();
    expect(await kernel.handle(['test:throw'])).toBe(ExitCode.failure);
    expect(io.err).toBe('error E_JOB_NOT_FOUND: no failed job has id x\n');
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('prints the full stack for an unexpected error and exits 1', async () => {
    const { io, kernel, close } = setup();
    expect(await kernel.handle(['test:throw', '--unexpected'])).toBe(ExitCode.failure);
    expect(io.err).toMatch(/^TypeError: boom\n\s+at /);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('reports an application that cannot be built as the error it threw', async () => {
    const io = captureIO();
    const kernel = new Kernel({
      commands: [EchoCommand],
      io,
      createApplication: () => {
        throw new JobNotFoundError('config is broken');
      },
    });
    expect(await kernel.handle(['test:echo', 'x'])).toBe(1);
    expect(io.err).toBe('error E_JOB_NOT_FOUND: config is broken\n');
  });
});

describe('Kernel', () => {
  it('tells the application factory whether the running command reads queues', async () => {
    class ListCommand extends BaseCommand {
      static override readonly commandName: string = 'test:list';
      static override readonly description: string = 'List what the app defines';
      static override readonly readsQueues = false;
      async run(): Promise<number> {
        await this.app();
        return 0;
      }
    }
    const app = { close: vi.fn(async () => {}) } as unknown as Application;
    const createApplication = vi.fn(() => app);
    const kernel = new Kernel({ commands: [EchoCommand, ListCommand], io: captureIO(), createApplication });

    await kernel.handle(['test:list']);
    await kernel.handle(['test:echo', 'x']);
    expect(createApplication.mock.calls).toEqual([[{ readsQueues: false }], [{ readsQueues: true }]]);
  });

  it('refuses two command classes with the same name', () => {
    expect(() => new Kernel({ commands: [EchoCommand, EchoCommand], createApplication: vi.fn() })).toThrow(
      /two command classes are registered as "test:echo"/,
    );
  });
});
