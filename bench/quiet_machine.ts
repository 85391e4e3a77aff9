/**
 * Keeps other programs out of the measurements: on a shared 2-core machine a test suite
 * running next door halves a worker's rate. Before a run the bench waits until no other
 * client is connected to Redis and other processes use little CPU; a run during which
 * that changed is flagged so it can be repeated.
 */
import type { Redis } from 'ioredis';
import { foreignClients, machineBusySeconds, snapshot } from './redis_stats.js';

/** Other processes may use this much of one core (in %) during a run that counts. */
export const OTHER_CPU_LIMIT = 20;

export class QuietMachine {
  readonly #redis: Redis;
  readonly #progress: (line: string) => void;
  /** Waiting time left over the whole bench, so a machine that never calms down still ends. */
  #budgetMs: number;

  constructor(redis: Redis, progress: (line: string) => void, budgetMs = 300_000) {
    this.#redis = redis;
    this.#progress = progress;
    this.#budgetMs = budgetMs;
  }

  /** Whether a run with these readings was disturbed by other programs. */
  static disturbed(run: { otherClients: number; otherCpuPercent: number | undefined }): boolean {
    return run.otherClients > 0 || (run.otherCpuPercent ?? 0) > OTHER_CPU_LIMIT;
  }

  /** Resolves once the machine has been quiet for half a second, or the budget is spent. */
  async wait(): Promise<void> {
    let announced = false;
    while (this.#budgetMs > 0) {
      const started = performance.now();
      const reading = await this.#otherLoad(500);
      if (!QuietMachine.disturbed(reading)) return;
      if (!announced) {
        this.#progress(
          `  waiting for a quiet machine (${reading.otherClients} other Redis client(s), ` +
            `other processes at ${reading.otherCpuPercent?.toFixed(0) ?? '?'}% CPU)...`,
        );
        announced = true;
      }
      this.#budgetMs -= performance.now() - started;
      if (this.#budgetMs <= 0) this.#progress('  gave up waiting for a quiet machine; runs will be flagged');
    }
  }

  /** Other Redis clients now, and CPU of processes other than this one and Redis over `ms`. */
  async #otherLoad(ms: number): Promise<{ otherClients: number; otherCpuPercent: number | undefined }> {
    const machineBefore = await machineBusySeconds();
    const redisBefore = await snapshot(this.#redis);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const cpu = process.cpuUsage(cpuBefore);
    const redisAfter = await snapshot(this.#redis);
    const machineAfter = await machineBusySeconds();
    const seconds = (performance.now() - started) / 1000;
    const otherClients = (await foreignClients(this.#redis)).length;
    if (machineBefore === undefined || machineAfter === undefined)
      return { otherClients, otherCpuPercent: undefined };
    const ours = (cpu.user + cpu.system) / 1e6 + (redisAfter.cpuSeconds - redisBefore.cpuSeconds);
    return {
      otherClients,
      otherCpuPercent: (Math.max(0, machineAfter - machineBefore - ours) / seconds) * 100,
    };
  }
}
