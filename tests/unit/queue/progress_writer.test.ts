import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionError } from '../../../core/errors.js';
import { MAX_PROGRESS_DATA_BYTES, ProgressWriter } from '../../../core/queue/progress_writer.js';

describe('ProgressWriter', () => {
  it('writes the first report at once, coalesces the rest, and always writes the last value', async () => {
    vi.useFakeTimers();
    try {
      const writes: [number, string | null][] = [];
      const writer = new ProgressWriter(async (percent, message) => {
        writes.push([percent, message]);
      }, 1000);
      for (let i = 1; i <= 10_000; i++) writer.report(i / 100, `step ${i}`);
      expect(writes).toEqual([[0.01, 'step 1']]);
      vi.advanceTimersByTime(1000);
      expect(writes).toEqual([
        [0.01, 'step 1'],
        [100, 'step 10000'],
      ]);
      writer.report(100, 'done');
      writer.flush();
      expect(writes.at(-1)).toEqual([100, 'done']);
      expect(writer.writes).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('clamps to 0-100 and refuses a percent that is not a number', () => {
    const writes: number[] = [];
    const writer = new ProgressWriter(async (percent) => {
      writes.push(percent);
    }, 0);
    writer.report(150, null);
    writer.report(-5, null);
    expect(writes).toEqual([100, 0]);
    expect(() => writer.report(Number.NaN, null)).toThrow(InvalidOptionError);
  });

  it('stores data as it was when reported, replaces it with each report, and refuses data too big or not JSON', () => {
    const writes: [number, string | null][] = [];
    const writer = new ProgressWriter(async (percent, _message, data) => {
      writes.push([percent, data]);
    }, 0);
    const rows = ['r1'];
    writer.report(10, null, { rows });
    rows.push('r2'); // changed after the report: the report keeps what it was
    writer.report(20, null);
    expect(writes).toEqual([
      [10, '{"rows":["r1"]}'],
      [20, null],
    ]);
    expect(() => writer.report(30, null, 'x'.repeat(MAX_PROGRESS_DATA_BYTES))).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: expect.stringMatching(/at most 16384/) }),
    );
    expect(() => writer.report(30, null, { when: new Date() })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_PAYLOAD' }),
    );
    expect(writes).toHaveLength(2);
  });
});
