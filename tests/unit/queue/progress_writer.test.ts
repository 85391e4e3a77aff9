import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionError } from '../../../core/errors.js';
import {
  MAX_PROGRESS_DATA_BYTES,
  MAX_PROGRESS_MESSAGE_LENGTH,
  ProgressWriter,
} from '../../../core/queue/progress_writer.js';

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

  it('keeps writing once per interval when the wall clock steps back (an NTP correction)', async () => {
    const writes: number[] = [];
    const writer = new ProgressWriter(async (percent) => {
      writes.push(percent);
    }, 50);
    writer.report(10);
    const stepped = Date.now() - 60_000;
    const now = vi.spyOn(Date, 'now').mockImplementation(() => stepped);
    try {
      await new Promise((resolve) => setTimeout(resolve, 80));
      writer.report(20);
      expect(writes).toEqual([10, 20]);
    } finally {
      now.mockRestore();
      writer.flush();
    }
  });

  it('clamps to 0-100 and refuses a percent that is not a number', () => {
    const writes: number[] = [];
    const writer = new ProgressWriter(async (percent) => {
      writes.push(percent);
    }, 0);
    writer.report(150, null);
    writer.report(-5, null);
    // done / 0 * 100 of an empty batch: clamped, as the docs promise, not a failed attempt
    writer.report(Number.POSITIVE_INFINITY, null);
    writer.report(Number.NEGATIVE_INFINITY, null);
    expect(writes).toEqual([100, 0, 100, 0]);
    expect(() => writer.report(Number.NaN, null)).toThrow(InvalidOptionError);
  });

  it('stores held-back data as it was when reported, though the job changed the object since', async () => {
    vi.useFakeTimers();
    try {
      const writes: (string | null)[] = [];
      const writer = new ProgressWriter(async (_percent, _message, data) => {
        writes.push(data);
      }, 1000);
      writer.report(10, null, { rows: [] }); // written at once
      const rows = ['r1'];
      writer.report(20, null, { rows }); // held back until the interval ends
      rows.push('r2');
      writer.flush();
      expect(writes).toEqual(['{"rows":[]}', '{"rows":["r1"]}']);
      writer.report(30, null);
      vi.advanceTimersByTime(1000);
      expect(writes.at(-1)).toBeNull(); // a report without data clears it
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes data up to MAX_PROGRESS_DATA_BYTES encoded, counted in bytes, and refuses more or data that is not JSON', () => {
    const writer = new ProgressWriter(async () => {}, 0);
    // a JSON string is its characters and two quotes
    expect(() => writer.report(10, null, 'x'.repeat(MAX_PROGRESS_DATA_BYTES - 2))).not.toThrow();
    expect(() => writer.report(10, null, 'x'.repeat(MAX_PROGRESS_DATA_BYTES - 1))).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_OPTION',
        message: expect.stringMatching(/16385 bytes; at most 16384/),
      }),
    );
    // 8,192 characters, but 16,386 bytes in UTF-8
    expect(() => writer.report(10, null, 'é'.repeat(8192))).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    );
    expect(() => writer.report(30, null, { when: new Date() })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_PAYLOAD',
        message: expect.stringMatching(/progress data\.when is an instance of Date/),
      }),
    );
  });

  it('refuses a message that is not a string with E_INVALID_OPTION, so both drivers store the same', () => {
    const writes: (string | null)[] = [];
    const writer = new ProgressWriter(async (_percent, message) => {
      writes.push(message);
    }, 0);
    for (const message of [5, { a: 1 }, true]) {
      expect(() => writer.report(10, message as unknown as string)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION' }),
      );
    }
    writer.report(10, undefined);
    writer.report(10, null);
    expect(writes).toEqual([null, null]);
  });

  it('cuts a message over MAX_PROGRESS_MESSAGE_LENGTH characters, saying how much was cut, never inside a surrogate pair', () => {
    const writes: (string | null)[] = [];
    const writer = new ProgressWriter(async (_percent, message) => {
      writes.push(message);
    }, 0);
    const fits = 'a'.repeat(MAX_PROGRESS_MESSAGE_LENGTH);
    writer.report(10, fits);
    writer.report(20, `${'a'.repeat(MAX_PROGRESS_MESSAGE_LENGTH - 1)}😀tail`);
    expect(writes).toEqual([fits, `${'a'.repeat(MAX_PROGRESS_MESSAGE_LENGTH - 1)}… [6 more characters cut]`]);
  });
});
