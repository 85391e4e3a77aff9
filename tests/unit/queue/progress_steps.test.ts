import { describe, expect, it } from 'vitest';
import { InvalidOptionError, MAX_STEPS, ProgressSteps } from '../../../core/index.js';

function counter(total: number) {
  const reports: [number, string | undefined][] = [];
  const steps = new ProgressSteps(total, (percent, message) => {
    reports.push([percent, message]);
  });
  return { steps, reports };
}

describe('ProgressSteps', () => {
  it('reports the share of steps done, rounded down to two decimals', () => {
    const { steps, reports } = counter(3);
    steps.advance();
    steps.advance(1, 'second');
    expect(reports).toEqual([
      [33.33, undefined],
      [66.66, 'second'],
    ]);
    expect(steps.done).toBe(2);
  });

  it('reads 100 only once every step is done, even with a million steps', () => {
    const { steps, reports } = counter(1_000_000);
    steps.advance(999_999);
    expect(reports.at(-1)?.[0]).toBe(99.99);
    steps.advance();
    expect(reports.at(-1)?.[0]).toBe(100);
  });

  it('counts steps past the total as the total, and 0 steps only updates the message', () => {
    const { steps, reports } = counter(4);
    steps.advance(3);
    steps.advance(0, 'still on the last one');
    steps.advance(10);
    expect(reports).toEqual([
      [75, undefined],
      [75, 'still on the last one'],
      [100, undefined],
    ]);
    expect(steps.done).toBe(4);
  });

  it('is exact for totals up to MAX_STEPS', () => {
    const { steps, reports } = counter(MAX_STEPS);
    steps.advance(MAX_STEPS - 1);
    steps.advance(1);
    expect(reports.map(([percent]) => percent)).toEqual([99.99, 100]);
    const thirds = counter(300);
    thirds.steps.advance(87); // 29%: (87 / 300) * 100 is 28.999999999999996 in floats
    expect(thirds.reports[0]?.[0]).toBe(29);
  });

  it('refuses a total that is not a whole number from 1 to MAX_STEPS, saying what it takes', () => {
    for (const total of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_STEPS + 1]) {
      expect(() => counter(total)).toThrow(InvalidOptionError);
    }
    expect(() => counter(0)).toThrow(/steps\(total\) takes the number of steps, a whole number from 1 to/);
  });

  it('refuses a count that is not a whole number of at least 0, and counts nothing for it', () => {
    const { steps, reports } = counter(10);
    for (const count of [-1, 0.5, Number.NaN]) {
      expect(() => steps.advance(count)).toThrow(InvalidOptionError);
    }
    expect(steps.done).toBe(0);
    expect(reports).toEqual([]);
  });
});
