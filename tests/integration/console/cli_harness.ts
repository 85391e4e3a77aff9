/**
 * Helpers for console tests: run the real `bin/topiq.js` as a child process against real
 * Redis under a key prefix of its own, build an in-process application on the same
 * prefix to set up and inspect state, and delete the prefix's keys afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { jobs } from '../../../app/jobs/index.js';
import appConfig from '../../../config/app.js';
import queueConfig from '../../../config/queue.js';
import { Application, type JobClass } from '../../../core/index.js';
import { deleteKeys } from '../../support/redis_keys.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';
/** The repository's root directory, with a trailing slash. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `test-cli-${randomBytes(4).toString('hex')}`;
}

/** The environment the CLI and the in-process application read their config from. */
export function cliEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', DOTENV_CONFIG_QUIET: 'true', ...extra };
}

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

/** Starts `node bin/topiq.js <args>` with stdin closed (not a terminal), in the repo or `cwd`. */
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
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
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
