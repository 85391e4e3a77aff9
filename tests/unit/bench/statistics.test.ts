import { describe, expect, it } from 'vitest';
import { formatInterval, median, medianInterval, pairedRatios, verdict } from '../../../bench/statistics.js';

describe('bench statistics', () => {
  it('takes the middle value, and the mean of the two middle values of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('pairs runs by round and ignores rounds only one side has', () => {
    expect(pairedRatios([90, 50, 120], [100, 50])).toEqual([0.9, 1]);
    expect(median(pairedRatios([90, 40, 110], [100, 50, 100]))).toBeCloseTo(0.9);
  });

  it('bounds the median by the order statistics whose binomial tails stay within 5%', () => {
    const values = Array.from({ length: 20 }, (_, index) => (index + 1) / 10); // 0.1 .. 2.0
    // n = 20: 2 P(B <= 5) = 0.041 <= 0.05 < 2 P(B <= 6) = 0.115, so x(6) and x(15)
    expect(medianInterval(values)).toEqual({ low: 0.6, high: 1.5 });
    // n = 7: only the extremes qualify (2 P(B = 0) = 0.016; 2 P(B <= 1) = 0.125)
    expect(medianInterval([5, 1, 4, 2, 7, 3, 6])).toEqual({ low: 1, high: 7 });
    // a lower confidence narrows it: 2 P(B <= 6) = 0.115 <= 0.2 < 2 P(B <= 7) = 0.263
    expect(medianInterval(values, 0.8)).toEqual({ low: 0.7, high: 1.4 });
  });

  it('gives no interval for fewer than 6 runs at 95%, so no verdict from a handful of runs', () => {
    expect(medianInterval([0.95, 0.96, 0.97, 0.98, 0.99])).toBeUndefined();
    expect(medianInterval([0.95, 0.96, 0.97, 0.98, 0.99, 1])).toEqual({ low: 0.95, high: 1 });
    expect(verdict(undefined, 0.9)).toBe('undecided');
    expect(formatInterval(undefined, 100, 0, '%')).toMatch(/too few runs/);
    expect(formatInterval({ low: 0.884, high: 1.02 }, 100, 0, '%')).toBe('88-102%');
  });

  it('calls a floor met, missed or undecided from where the interval lies', () => {
    expect(verdict({ low: 0.91, high: 1.02 }, 0.9)).toBe('met');
    expect(verdict({ low: 0.9, high: 0.95 }, 0.9)).toBe('met');
    expect(verdict({ low: 0.8, high: 0.89 }, 0.9)).toBe('missed');
    expect(verdict({ low: 0.85, high: 0.97 }, 0.9)).toBe('undecided');
  });
});
