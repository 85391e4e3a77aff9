/**
 * The bench's child processes (app, worker) and how the parent talks to them: one JSON
 * object per line, commands on the child's stdin, reports on its stdout (anything else
 * on stdout is passed to stderr). Logs go to stderr. The parent can read each child's
 * CPU time from /proc while it runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** A line a child writes: `{ type: 'ready' }`, `{ type: 'result', ... }` or `{ type: 'failed', message }`. */
export interface ChildReport {
  type: string;
  [field: string]: unknown;
}

const MARK = '@e2e ';

/** Child side: writes one report line to stdout. */
export function report<T extends { type: string }>(message: T): void {
  process.stdout.write(`${MARK}${JSON.stringify(message)}\n`);
}

/**
 * Child side: calls `handler` for each command line the parent writes. When stdin ends
 * (the parent is gone, e.g. after Ctrl-C) the child is sent `stop`, so it cleans up
 * (MQTT session, connections), and gets 5 s for it. Ctrl-C itself is left to the
 * parent, which then closes every child's stdin.
 */
export function onCommand(handler: (command: ChildReport) => void): void {
  process.on('SIGINT', () => {});
  process.stdout.on('error', () => {}); // the parent is gone: nobody to report to
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== '') handler(JSON.parse(line) as ChildReport);
  });
  lines.on('close', () => {
    setTimeout(() => process.exit(0), 5000).unref();
    handler({ type: 'stop' });
  });
}

/** Child side: runs `main`, reporting a failure to the parent and exiting non-zero. */
export function runChild(main: () => Promise<void>): void {
  main().catch(failChild);
}

function failChild(error: unknown): never {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  report({ type: 'failed', message });
  process.exit(1);
}

/**
 * Child side: answers the parent's `go` (start timing), `mark` (end of the measured span)
 * and `stop`, on which `finish` shuts the child down and returns its result, reported
 * with the timing; then the child exits once stdout is flushed, even if a library left a
 * handle open.
 */
export function serveTimedChild<R extends ProcessTiming & { type: 'result' }>(
  finish: () => Promise<Omit<R, keyof ProcessTiming | 'type'>>,
): void {
  const timing = startTiming();
  let stopping = false;
  onCommand((command) => {
    if (command.type === 'go') timing.restart();
    else if (command.type === 'mark') timing.mark();
    else if (command.type === 'stop' && !stopping) {
      stopping = true;
      const measured = timing.read();
      finish()
        .then((result) => {
          report({ type: 'result', ...result, ...measured });
          process.stdout.write('', () => setTimeout(() => process.exit(0), 50));
        })
        .catch(failChild);
    }
  });
}

/** Parent side: one running child process. */
export class BenchChild {
  readonly name: string;
  readonly #process: ChildProcess;
  readonly #reports: ChildReport[] = [];
  readonly #ticks: ChildReport[] = [];
  readonly #waiters = new Set<() => void>();
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  /** `nodeFlags` go before the script, e.g. `--cpu-prof`. */
  constructor(name: string, script: URL, args: string[], nodeFlags: string[] = []) {
    this.name = name;
    const flags = [...process.execArgv, ...nodeFlags];
    this.#process = spawn(process.execPath, [...flags, fileURLToPath(script), ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#exited = new Promise((resolve) => {
      this.#process.once('exit', (code) => {
        this.#exitCode = code;
        for (const wake of this.#waiters) wake();
        resolve(code);
      });
    });
    const lines = createInterface({ input: this.#process.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith(MARK)) {
        process.stderr.write(`[${name}] ${line}\n`);
        return;
      }
      const parsed = JSON.parse(line.slice(MARK.length)) as ChildReport;
      if (parsed.type === 'tick') this.#ticks.splice(0, this.#ticks.length, parsed);
      else this.#reports.push(parsed);
      for (const wake of this.#waiters) wake();
    });
  }

  /** The child's latest `tick` report (periodic counters), if any. */
  get lastTick(): ChildReport | undefined {
    return this.#ticks[0];
  }

  get pid(): number {
    return this.#process.pid ?? 0;
  }

  /** Resolves with the first report of `type` (already received or next); rejects on `failed` or exit. */
  async expect<T extends { type: string }>(type: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#reports.findIndex((entry) => entry.type === type || entry.type === 'failed');
      if (index >= 0) {
        const [found] = this.#reports.splice(index, 1);
        if (found!.type === 'failed') throw new Error(`${this.name} failed: ${String(found!.message)}`);
        return found as unknown as T;
      }
      if (this.#exitCode !== undefined) {
        throw new Error(`${this.name} exited (code ${this.#exitCode}) before reporting "${type}"`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not report "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  send(command: ChildReport): void {
    this.#process.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Closes stdin and waits for the exit; kills the child (by its pid) if it lingers. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.#process.stdin!.end();
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** CPU and event-loop use of a child over the span the parent frames with `go` and `mark`. */
export interface ProcessTiming {
  seconds: number;
  cpuSeconds: number;
  /** Share of the span the event loop was busy (1 = saturated). */
  loopUtilization: number;
  /** Event-loop delay (how late a 10 ms timer fires), p99 and worst, in ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Garbage collection: total and longest pause, in ms. */
  gcMs: number;
  gcMaxMs: number;
}

/** Child side: times from start (or `restart()`) to `mark()`, or to `read()` when never marked. */
export function startTiming(): { restart(): void; mark(): void; read(): ProcessTiming } {
  let loop = performance.eventLoopUtilization();
  let cpu = process.cpuUsage();
  let started = performance.now();
  let marked: ProcessTiming | undefined;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const gc = { total: 0, max: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.total += entry.duration;
      gc.max = Math.max(gc.max, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const measure = (): ProcessTiming => {
    const used = process.cpuUsage(cpu);
    return {
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
      loopUtilization: performance.eventLoopUtilization(loop).utilization,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      gcMs: gc.total,
      gcMaxMs: gc.max,
    };
  };
  return {
    restart() {
      loop = performance.eventLoopUtilization();
      cpu = process.cpuUsage();
      started = performance.now();
      marked = undefined;
      delay.reset();
      gc.total = 0;
      gc.max = 0;
    },
    mark() {
      marked = measure();
    },
    read() {
      return marked ?? measure();
    },
  };
}
