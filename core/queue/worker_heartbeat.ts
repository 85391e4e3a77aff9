/**
 * A worker's heartbeat: records what the worker is doing every few seconds, so that
 * `queue:workers` lists it until three beats are missed, and warns once when another live
 * worker beats under the same name.
 */
import type { Logger } from '../logger.js';
import { isWorkerInfo, type QueueDriver, type WorkerInfo } from './driver.js';

export class WorkerHeartbeat {
  readonly #driver: QueueDriver;
  readonly #log: Logger;
  readonly #intervalMs: number;
  /** What the worker reports about itself now. */
  readonly #describe: () => WorkerInfo;
  #timer: NodeJS.Timeout | undefined;
  /** Stopped: a beat that fails from now on is not reported. */
  #stopped = false;
  /** Heartbeats in a row that replaced another live worker's under this name. */
  #nameClashes = 0;
  /** Whether `worker.name_in_use` was logged (once per worker). */
  #nameClashLogged = false;

  constructor(driver: QueueDriver, log: Logger, intervalMs: number, describe: () => WorkerInfo) {
    this.#driver = driver;
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#describe = describe;
  }

  /** Beats every `intervalMs` from now on, and resolves once the first beat is recorded (or failed). */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.#beat(), this.#intervalMs);
    this.#timer.unref();
    await this.#beat();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#stopped = true;
  }

  /**
   * Takes the worker off the list (a clean stop), unless another live worker has its name: one
   * whose heartbeat its latest beat replaced (the two take turns; this one's expires on its own,
   * and the other's next beat replaces it), or one that wrote the heartbeat stored now.
   */
  leave(): Promise<void> {
    if (this.#nameClashes > 0) return Promise.resolve();
    const { id, host, pid, startedAt } = this.#describe();
    return this.#driver.removeWorker(id, { host, pid, startedAt });
  }

  async #beat(): Promise<void> {
    try {
      const info = this.#describe();
      const replaced = await this.#driver.heartbeat(info, this.#intervalMs * 3);
      // a custom driver may answer anything (ioredis's 'OK'): only a heartbeat counts
      const other = isWorkerInfo(replaced) ? replaced : undefined;
      // twice in a row: a worker restarted under its name replaces its dead self's heartbeat once
      this.#nameClashes = other ? this.#nameClashes + 1 : 0;
      if (other && this.#nameClashes >= 2 && !this.#nameClashLogged) {
        // both keep writing the one entry: queue:workers lists either, with its running jobs only
        this.#nameClashLogged = true;
        this.#log.warn(
          { event: 'worker.name_in_use', worker: info.id, otherHost: other.host, otherPid: other.pid },
          `another live worker (${other.host}, pid ${other.pid}) is named ${info.id} too, so queue:workers lists only one of them at a time; give each worker its own --name, or leave the default (host:pid:random)`,
        );
      }
    } catch (error) {
      // once stopped, a beat still unanswered fails as the driver closes: nothing to report
      if (!this.#stopped) {
        this.#log.warn({ event: 'worker.heartbeat_failed', err: error }, 'could not record heartbeat');
      }
    }
  }
}
