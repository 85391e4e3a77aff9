/**
 * Parent side of `worker_process.ts`: spawns it with `node --import tsx`, waits for its
 * `ready` line, collects its output for diagnostics, and stops or kills it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { settingsToEnv, type WorkerProcessInput, withDefaults } from './worker_process_settings.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./worker_process.ts', import.meta.url));

/** How a worker process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned worker process. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** The worker's name, as stored on the job records it reserves; set once ready. */
  workerName = '';
  #stdout = '';
  #stderr = '';

  constructor(child: ChildProcess) {
    this.child = child;
    child.on('error', (error) => {
      this.#stderr += `spawn error: ${error.message}\n`;
    });
    if (child.pid === undefined) throw new Error('the worker process did not start');
    this.pid = child.pid;
    child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves on the `ready` line; rejects when the process exits first or is too slow. */
  async ready(timeoutMs = 20_000): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.#stdout.split('\n').find((text) => text.startsWith('ready '));
      if (line) {
        this.workerName = (JSON.parse(line.slice('ready '.length)) as { worker: string }).worker;
        return this;
      }
      if (!this.alive) throw new Error(`worker ${this.pid} exited before it was ready\n${this.describe()}`);
      if (Date.now() > deadline) {
        throw new Error(`worker ${this.pid} not ready within ${timeoutMs} ms\n${this.describe()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends SIGTERM (graceful stop) and resolves when the process has exited. */
  stop(): Promise<ProcessExit> {
    if (this.alive) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Sends SIGKILL (a crash: no cleanup at all) and resolves when the process has exited. */
  crash(): Promise<ProcessExit> {
    if (this.alive) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Output for a failure message. */
  describe(): string {
    const state = this.alive ? 'running' : `exited ${this.child.exitCode ?? this.child.signalCode}`;
    return `--- worker ${this.pid} (${state}) stdout:\n${this.#stdout}--- stderr:\n${this.#stderr}`;
  }
}

/** Starts a worker process; call `ready()` on the result before relying on it. */
export function spawnWorkerProcess(input: WorkerProcessInput): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...settingsToEnv(withDefaults(input)),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new WorkerProcess(child);
}
