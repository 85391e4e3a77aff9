/**
 * Coalesces progress reports of one running job: at most one write per interval, and
 * the last value reported is always written (on the trailing edge, or by `flush()` when
 * the job ends), so a tight loop of 10,000 updates costs a handful of writes.
 */
import { InvalidOptionError } from '../errors.js';

export class ProgressWriter {
  readonly #write: (percent: number, message: string | null) => Promise<unknown>;
  readonly #intervalMs: number;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #latest: { percent: number; message: string | null } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writes = 0;

  constructor(write: (percent: number, message: string | null) => Promise<unknown>, intervalMs: number) {
    this.#write = write;
    this.#intervalMs = intervalMs;
  }

  /** How many writes were sent. */
  get writes(): number {
    return this.#writes;
  }

  /** Records a new value; throws `E_INVALID_OPTION` for a percent that is not a finite number. */
  report(percent: number, message: string | null): void {
    if (typeof percent !== 'number' || !Number.isFinite(percent)) {
      throw new InvalidOptionError(`progress must be a number from 0 to 100; got ${String(percent)}`);
    }
    this.#latest = { percent: Math.max(0, Math.min(100, percent)), message };
    const wait = this.#lastWriteAt + this.#intervalMs - Date.now();
    if (wait <= 0) {
      this.#send();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#send();
      }, wait);
      this.#timer.unref();
    }
  }

  /** Writes the last unwritten value now (the job is ending). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#send();
  }

  #send(): void {
    const latest = this.#latest;
    if (!latest) return;
    this.#latest = undefined;
    this.#lastWriteAt = Date.now();
    this.#writes++;
    this.#write(latest.percent, latest.message).catch(() => {
      // progress is advisory: a failed write is superseded by the next one
    });
  }
}
