import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionError } from '../../../core/errors.js';
import { ProgressWriter } from '../../../core/queue/progress_writer.js';

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
});
