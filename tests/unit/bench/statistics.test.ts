import { describe, expect, it } from 'vitest';
import { median, medianInterval, pairedRatio, pairedRatios, verdict } from '../../../bench/statistics.js';

describe('bench statistics', () => {
  it('takes the middle value, the upper middle one of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(3);
  });

  it('pairs runs by round and ignores rounds only one side has', () => {
    expect(pairedRatios([90, 50, 120], [100, 50])).toEqual([0.9, 1]);
    expect(pairedRatio([90, 40, 110], [100, 50, 100])).toBeCloseTo(0.9);
  });

  it('bounds the median of steady ratios tightly and of scattered ones loosely', () => {
    const steady = [0.95, 0.96, 0.94, 0.95, 0.97, 0.95, 0.93, 0.96, 0.95, 0.94];
    const scattered = [0.7, 1.2, 0.85, 1.05, 0.8, 1.3, 0.9, 0.75, 1.1, 0.95];
    const tight = medianInterval(steady);
    const loose = medianInterval(scattered);
    expect(tight.low).toBeLessThanOrEqual(median(steady));
    expect(tight.high).toBeGreaterThanOrEqual(median(steady));
    expect(tight.high - tight.low).toBeLessThan(0.03);
    expect(loose.high - loose.low).toBeGreaterThan(0.2);
  });

  it('gives the same interval for the same figures and seed', () => {
    const values = [0.8, 0.9, 1.0, 0.85, 0.95, 1.1];
    expect(medianInterval(values, { seed: 7 })).toEqual(medianInterval(values, { seed: 7 }));
  });

  it('collapses to the value when every run agrees, and refuses no runs', () => {
    expect(medianInterval([0.92, 0.92, 0.92])).toEqual({ low: 0.92, high: 0.92 });
    expect(() => medianInterval([])).toThrow(/at least one value/);
  });

  it('calls a floor met, missed or undecided from where the interval lies', () => {
    expect(verdict({ low: 0.91, high: 1.02 }, 0.9)).toBe('met');
    expect(verdict({ low: 0.9, high: 0.95 }, 0.9)).toBe('met');
    expect(verdict({ low: 0.8, high: 0.89 }, 0.9)).toBe('missed');
    expect(verdict({ low: 0.85, high: 0.97 }, 0.9)).toBe('undecided');
  });
});
