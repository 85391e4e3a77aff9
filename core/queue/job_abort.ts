/**
 * How a running job is stopped from outside (timeout, cancel, lost lease, shutdown).
 * The job's `AbortSignal` is created only when `handle()` reads `context.signal`: an
 * AbortController with its listener cost about 4.6 µs per job, a tenth of a no-op job's
 * whole cost at concurrency 50 (measured in bench/queue_bench.ts).
 */
export class JobAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listener: ((reason: unknown) => void) | undefined;

  /** The job's signal; already aborted when the job was stopped before it was read. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Stops the job with `reason` (the first reason wins). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#listener?.(reason);
  }

  /** Sets the one listener told of the abort (at once when already aborted); undefined clears it. */
  listen(listener: ((reason: unknown) => void) | undefined): void {
    this.#listener = listener;
    if (listener && this.#aborted) listener(this.#reason);
  }
}

/** Told the moment the work {@link untilAborted} waits on settles, before anything awaiting it. */
export interface SettleObserver {
  settled(): void;
}

/**
 * Settles with `work`, or rejects with the abort's reason when the job is stopped first: a
 * job that ignores its signal is left behind. (The worker adds its timeout: `withTimeout` in
 * job_runner.ts.) `work` may be a plain value (a `handle()` that is not async): it is taken as
 * resolved. `observer` is told as soon as `work` settles, in the reaction that sees it settle.
 */
export function untilAborted<T>(
  work: T | PromiseLike<T>,
  abort: JobAbort,
  observer?: SettleObserver,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    abort.listen(reject);
    // Promise.resolve: a plain value, or a thenable whose `then` throws, settles it too
    Promise.resolve(work).then(
      (value) => {
        observer?.settled();
        abort.listen(undefined);
        resolve(value);
      },
      (error: unknown) => {
        observer?.settled();
        abort.listen(undefined);
        reject(error);
      },
    );
  });
}
