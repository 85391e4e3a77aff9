/** Options accepted by every dispatch call. */

/** Per-dispatch options; each overrides the job class's setting. */
export interface DispatchOptions {
  /** Queue to put the job in. */
  queue?: string;
  /** Lower runs first, FIFO among equals; integer in [-1000, 1000]. */
  priority?: number;
  /** Seconds to wait before the job may run. */
  delay?: number;
  /** When the job may run (a Date or epoch ms); overrides `delay`. */
  runAt?: Date | number;
  /** If the job has not started by then it is marked `expired` and never runs. */
  expiresAt?: Date | number;
  /** Tries for this job (overrides the class's `maxTries`). */
  maxTries?: number;
  /** Your own id: dispatching an id that already exists adds nothing (idempotent). */
  jobId?: string;
  /** Create the job on hold (`pending`) until released with `release(id)`. */
  hold?: boolean;
}
