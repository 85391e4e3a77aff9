/**
 * Helpers for console tests: run the real `bin/topiq.js` as a child process against real
 * Redis under a key prefix of its own, build an in-process application on the same
 * prefix to set up and inspect state, and delete the prefix's keys afterwards.
 *
 * The CLI reads only the environment a test gives it: {@link cliEnv} points
 * `DOTENV_CONFIG_PATH` at an empty file, so the `.env` a user keeps in the project root (the
 * README tour puts REDIS_URL there) does not fill in what a test leaves unset. And no child
 * outlives its test: one still running when its test ends (passed, failed or timed out) is
 * killed, as is one that runs past {@link CLI_LIFETIME_MS}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { devNull } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { getCurrentTest } from 'vitest/suite';
import { jobs } from '../../../app/jobs/index.js';
import appConfig from '../../../config/app.js';
import queueConfig from '../../../config/queue.js';
import { commands } from '../../../bootstrap/console.js';
import { Kernel } from '../../../core/console/index.js';
import { Application, type JobClass } from '../../../core/index.js';
import { captureIO } from '../../unit/console/capture_io.js';
import { deleteKeys } from '../../support/redis_keys.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';
/** The repository's root directory, with a trailing slash. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `test-cli-${randomBytes(4).toString('hex')}`;
}

/** The `.env` file the CLI reads: an empty one, so the project root's `.env` is not read. */
export const NO_ENV_FILE = devNull;

/**
 * The environment the CLI and the in-process application read their config from, and all
 * of it: `DOTENV_CONFIG_PATH` names an empty file (see {@link NO_ENV_FILE}).
 */
export function cliEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    DOTENV_CONFIG_PATH: NO_ENV_FILE,
    DOTENV_CONFIG_QUIET: 'true',
    ...extra,
  };
}

/**
 * How long a CLI child may run (ms) before it is killed: under vitest's 30 s test timeout, so
 * a command that hangs fails its test with what it printed, instead of timing the test out.
 */
export const CLI_LIFETIME_MS = 25_000;

/** What a finished CLI run printed and returned. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `node bin/topiq.js ...` whose output is collected as it comes. */
export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<CliResult>;
}

/**
 * Starts `node bin/topiq.js <args>` with stdin closed (not a terminal), in the repo or `cwd`.
 * The child is killed if it still runs when the test that started it ends, or after
 * {@link CLI_LIFETIME_MS}.
 */
export function startCli(args: readonly string[], env: Record<string, string>, cwd = REPO_ROOT): CliProcess {
  const child = spawn(process.execPath, [`${REPO_ROOT}bin/topiq.js`, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lifetime = setTimeout(() => {
    stderr += `\ncli_harness: killed after ${CLI_LIFETIME_MS} ms: topiq ${args.join(' ')}\n`;
    child.kill('SIGKILL');
  }, CLI_LIFETIME_MS);
  lifetime.unref();
  live.add(child);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  child.on('close', () => {
    clearTimeout(lifetime);
    live.delete(child);
  });
  killWhenTestEnds(child);
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
  };
}

/** The CLI children still running. */
const live = new Set<ChildProcess>();
// vitest ending (Ctrl-C, a fork stopped): no child is left behind
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Kills `child` when the test running now ends, should it still run (the test failed or timed
 * out before stopping it). Only for a test not run concurrently: among concurrent tests, the
 * current one is whichever awaited last, so the lifetime limit alone covers their children.
 */
function killWhenTestEnds(child: ChildProcess): void {
  const test = getCurrentTest();
  if (!test || test.concurrent) return;
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Runs `node bin/topiq.js <args>` to the end, in the repo or `cwd`. */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<CliResult> {
  return startCli(args, env, cwd).done;
}

/** An application on the same Redis prefix as the CLI, with extra job classes if given. */
export function buildApplication(
  env: Record<string, string>,
  extraJobs: readonly JobClass[] = [],
): Application {
  return new Application({
    app: appConfig.read({ ...env, LOG_LEVEL: 'silent' }),
    queue: queueConfig.read(env),
    jobs: [...jobs, ...extraJobs],
  });
}

/**
 * Runs one command line in-process: the kernel with the app's commands, a captured terminal,
 * and an application built from `env` ({@link buildApplication}).
 */
export async function runInProcess(
  argv: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const io = captureIO();
  const kernel = new Kernel({ commands, io, createApplication: () => buildApplication(env) });
  const code = await kernel.handle([...argv]);
  return { code, out: io.out, err: io.err };
}

/** Deletes every key under `prefix`. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
