/**
 * Wake-ups for idle workers of the memory driver, shaped like the Redis driver's per-queue
 * wake-up lists: a signal wakes one worker waiting on that queue, or, when none waits, is
 * kept (at most one per queue) for the next worker that starts waiting. So a job pushed
 * between a worker's empty `reserve` and its `waitForWork` is not slept through, and
 * `reserve` signals again while work remains, waking the next worker in turn.
 */
import { MAX_TIMER_MS } from '../../../support/timers.js';

interface Waiter {
  readonly queues: ReadonlySet<string>;
  wake(): void;
}

/**
 * Waiters and kept signals, per queue name.
 *
 * @example
 * const signal = new WorkSignal();
 * const idle = signal.wait(['emails'], 5_000);
 * signal.notify('emails'); // `idle` resolves now
 */
export class WorkSignal {
  /** In arrival order: the longest waiting is woken first, as BLPOP does. */
  readonly #waiters = new Set<Waiter>();
  readonly #kept = new Set<string>();

  /**
   * Resolves when a signal for one of `queues` arrives (at once, taking it, when one was
   * kept), after `timeoutMs`, or on `interrupt`. The timer never keeps the process alive.
   */
  wait(queues: readonly string[], timeoutMs: number): Promise<void> {
    if (queues.length === 0 || queues.some((queue) => this.#kept.delete(queue))) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        queues: new Set(queues),
        wake: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      this.#waiters.add(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(waiter.wake, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
        timer.unref();
      }
    });
  }

  /** Signals that `queue` may have work: wakes one waiter on it, or keeps the signal. */
  notify(queue: string): void {
    for (const waiter of this.#waiters) {
      if (waiter.queues.has(queue)) {
        waiter.wake();
        return;
      }
    }
    this.#kept.add(queue);
  }

  /** Wakes every waiter at once. */
  interrupt(): void {
    for (const waiter of [...this.#waiters]) waiter.wake();
  }
}
