/**
 * Coalesces progress reports of one running job: at most one write per interval, and
 * the last value reported is always written (on the trailing edge, or by `flush()` when
 * the job ends), so a tight loop of 10,000 updates costs a handful of writes.
 */
import { InvalidOptionError } from '../errors.js';
import { encodeJson } from './json.js';
import { cutChars } from '../support/text.js';

/** The largest progress data, JSON-encoded: partial results belong on the record, not bulk data. */
export const MAX_PROGRESS_DATA_BYTES = 16 * 1024;

/**
 * The longest progress message kept (characters): a longer one is cut, ending in
 * `… [N more characters cut]`. A message is a status line for a dashboard, not a log.
 */
export const MAX_PROGRESS_MESSAGE_LENGTH = 1024;

/**
 * Writes one progress value: percent, message, and data as JSON (encoded when reported, so
 * an object the job changes afterwards is stored as it was then), or null for none.
 */
export type ProgressWrite = (
  percent: number,
  message: string | null,
  data: string | null,
) => Promise<unknown>;

export class ProgressWriter {
  readonly #write: ProgressWrite;
  readonly #intervalMs: number;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #latest: { percent: number; message: string | null; data: string | null } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writes = 0;

  constructor(write: ProgressWrite, intervalMs: number) {
    this.#write = write;
    this.#intervalMs = intervalMs;
  }

  /** How many writes were sent. */
  get writes(): number {
    return this.#writes;
  }

  /**
   * Records a new value, replacing the last one's message and data. A percent outside 0-100
   * is clamped, infinities too (`done / total * 100` over a total that came out 0). Throws `E_INVALID_OPTION`
   * for a percent that is NaN or not a number, a message that is not a string (both drivers
   * then store the same thing) or data over {@link MAX_PROGRESS_DATA_BYTES} encoded, and
   * `E_INVALID_PAYLOAD` for data JSON cannot carry. A message over
   * {@link MAX_PROGRESS_MESSAGE_LENGTH} characters is cut.
   */
  report(percent: number, message?: string | null, data?: unknown): void {
    if (typeof percent !== 'number' || Number.isNaN(percent)) {
      throw new InvalidOptionError(`progress must be a number from 0 to 100; got ${String(percent)}`);
    }
    if (message !== undefined && message !== null && typeof message !== 'string') {
      throw new InvalidOptionError(
        `a progress message must be a string (or left out); got ${typeof message}: put values in the data argument`,
      );
    }
    // an empty or absent message is none, as Redis stores it
    this.#latest = {
      percent: Math.max(0, Math.min(100, percent)),
      message: message ? cutChars(message, MAX_PROGRESS_MESSAGE_LENGTH) : null,
      data: progressData(data),
    };
    const wait = this.#lastWriteAt + this.#intervalMs - performance.now();
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
    this.#lastWriteAt = performance.now();
    this.#writes++;
    this.#write(latest.percent, latest.message, latest.data).catch(() => {
      // progress is advisory: a failed write is superseded by the next one
    });
  }
}

/** `data` checked and encoded, or null for none (undefined or null). */
function progressData(data: unknown): string | null {
  if (data === undefined || data === null) return null;
  const encoded = encodeJson(data, 'progress data');
  const bytes = Buffer.byteLength(encoded);
  if (bytes > MAX_PROGRESS_DATA_BYTES) {
    throw new InvalidOptionError(
      `progress data encodes to ${bytes} bytes; at most ${MAX_PROGRESS_DATA_BYTES} are kept on the record ` +
        '(report a summary, and return or store the full result elsewhere)',
    );
  }
  return encoded;
}
