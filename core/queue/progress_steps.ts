/**
 * Progress counted in steps: a job that knows how much work it has (rows to import, files to
 * upload, devices to configure) declares the total once and advances as each step ends, and
 * the percent follows. This is REGARDS's completion count (`getCompletionCount` and
 * `advanceCompletion`) on top of `progress()`, so its writes are coalesced the same way.
 */
import { InvalidOptionError } from '../errors.js';
import type { JsonValue } from './json.js';

/** The most steps a job may declare: enough for any job, and the percent stays exact. */
export const MAX_STEPS = 1_000_000_000;

/** Reports a percent (0-100), an optional message and data, as `JobContext.progress` does. */
export type ProgressReporter = (percent: number, message?: string, data?: JsonValue) => void;

/**
 * Steps of one running job. The percent it reports is rounded down to two decimals, so it
 * reads 100 only once every step is done.
 *
 * @example
 * async handle({ rows }: Import, { steps }: JobContext) {
 *   const progress = steps(rows.length);
 *   for (const row of rows) {
 *     await importRow(row);
 *     progress.advance(1, `row ${progress.done + 1} of ${progress.total}`);
 *   }
 * }
 */
export class ProgressSteps {
  /** Steps in all. */
  readonly total: number;
  readonly #report: ProgressReporter;
  #done = 0;

  /**
   * @param total - steps in all, a whole number from 1 to {@link MAX_STEPS}
   * @throws `E_INVALID_OPTION` for any other total
   */
  constructor(total: number, report: ProgressReporter) {
    if (!Number.isInteger(total) || total < 1 || total > MAX_STEPS) {
      throw new InvalidOptionError(
        `steps(total) takes the number of steps, a whole number from 1 to ${MAX_STEPS}; got ${String(total)}`,
      );
    }
    this.total = total;
    this.#report = report;
  }

  /** Steps done so far (never more than {@link total}). */
  get done(): number {
    return this.#done;
  }

  /**
   * Counts `count` more steps done (default 1; 0 only updates the message and data) and
   * reports the percent, with `message` and `data` as `progress()` takes them. Steps past the
   * total count as the total.
   *
   * @throws `E_INVALID_OPTION` when `count` is not a whole number of at least 0
   */
  advance(count = 1, message?: string, data?: JsonValue): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new InvalidOptionError(
        `advance(count) takes the steps just done, a whole number of at least 0; got ${String(count)}`,
      );
    }
    this.#done = Math.min(this.total, this.#done + count);
    // whole numbers below 2^53 throughout, so the floor is exact
    this.#report(Math.floor((this.#done * 10_000) / this.total) / 100, message, data);
  }
}
