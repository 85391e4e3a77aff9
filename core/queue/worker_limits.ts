/**
 * A worker's time and memory limits (`--max-time`, `--memory`): whether it is past them, read
 * cheaply enough to ask before every job start.
 */
import type { WorkerStopReason } from './worker_options.js';

/** How often, at most, the process's RSS is read (a system call), in ms. */
const MEMORY_CHECK_MS = 100;

/** The limits of one worker, counted from its start. */
export class WorkerLimits {
  readonly #maxTimeMs: number | undefined;
  readonly #memoryMb: number | undefined;
  #startedAt = 0;
  #memoryCheckedAt = 0;

  /** `maxTime` in seconds, `memory` in MB of RSS; either may be unset. */
  constructor(maxTime: number | undefined, memory: number | undefined) {
    this.#maxTimeMs = maxTime === undefined ? undefined : maxTime * 1000;
    this.#memoryMb = memory;
  }

  /** Whether any limit is set (a worker without them checks nothing per job). */
  get set(): boolean {
    return this.#maxTimeMs !== undefined || this.#memoryMb !== undefined;
  }

  /** When the worker started (epoch ms), from which its `--max-time` counts. */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** Starts the clock of `--max-time`. */
  start(now = Date.now()): void {
    this.#startedAt = now;
  }

  /** The limit the worker is past now, if any. */
  exceeded(now = Date.now()): WorkerStopReason | undefined {
    if (this.#maxTimeMs !== undefined && now - this.#startedAt >= this.#maxTimeMs) return 'max-time';
    if (this.#memoryMb !== undefined && now - this.#memoryCheckedAt >= MEMORY_CHECK_MS) {
      this.#memoryCheckedAt = now;
      if (process.memoryUsage.rss() / 1048576 >= this.#memoryMb) return 'memory';
    }
    return undefined;
  }

  /** How long an idle wait may last, in ms, to end no later than `--max-time` (at least 10). */
  waitBound(ms: number, now = Date.now()): number {
    return this.#maxTimeMs === undefined
      ? ms
      : Math.min(ms, Math.max(10, this.#startedAt + this.#maxTimeMs - now));
  }
}
