import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../core/errors.js';
import {
  assertRetryPolicy,
  MAX_RETRY_SECONDS,
  parseRetryPolicy,
  retryDelayMs,
} from '../../../core/queue/retry_policy.js';

describe('retryDelayMs', () => {
  it('waits a fixed number of seconds', () => {
    expect(retryDelayMs(10, 1)).toBe(10_000);
    expect(retryDelayMs(10, 7)).toBe(10_000);
  });

  it('takes the delay for each attempt from a list and repeats the last entry', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs([1, 5, 30], attempt))).toEqual([
      1000, 5000, 30_000, 30_000,
    ]);
  });

  it('doubles an exponential delay per attempt up to its cap', () => {
    const policy = { type: 'exponential', base: 2, max: 10 } as const;
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(policy, attempt))).toEqual([2000, 4000, 8000, 10_000]);
  });

  it('waits 0 ms at every attempt of an exponential policy with base 0, never NaN', () => {
    const policy = { type: 'exponential', base: 0 } as const;
    expect([1, 1024, 1025, 5000].map((attempt) => retryDelayMs(policy, attempt))).toEqual([0, 0, 0, 0]);
  });

  it('spreads exponential delays with full or equal jitter', () => {
    const full = { type: 'exponential', base: 4, jitter: 'full' } as const;
    expect(retryDelayMs(full, 1, () => 0)).toBe(0);
    expect(retryDelayMs(full, 1, () => 0.5)).toBe(2000);
    const equal = { type: 'exponential', base: 4, jitter: 'equal' } as const;
    expect(retryDelayMs(equal, 1, () => 0)).toBe(2000);
    expect(retryDelayMs(equal, 1, () => 0.999)).toBe(3998);
  });
});

describe('parseRetryPolicy', () => {
  it('reads seconds, per-attempt lists and exponential policies from the command line', () => {
    expect(parseRetryPolicy('10')).toBe(10);
    expect(parseRetryPolicy('1,5,30')).toEqual([1, 5, 30]);
    expect(parseRetryPolicy('exp:2:600')).toEqual({ type: 'exponential', base: 2, max: 600, jitter: 'full' });
  });

  it('rejects anything else with E_INVALID_OPTION and an example', () => {
    for (const bad of ['', 'soon', '1,,2', '-1', 'exp:', 'exp:x']) {
      expect(() => parseRetryPolicy(bad)).toThrow(InvalidOptionError);
    }
    expect(() => parseRetryPolicy('soon')).toThrow(/exponential/);
  });

  it('refuses a wait past the longest dispatch delay (to the year 9999), which no run-at time could hold', () => {
    expect(parseRetryPolicy(String(MAX_RETRY_SECONDS))).toBe(MAX_RETRY_SECONDS);
    for (const bad of ['1e20', `1,${MAX_RETRY_SECONDS + 1}`, 'exp:1e15']) {
      expect(() => parseRetryPolicy(bad)).toThrow(/at most|from 0 to/);
    }
    expect(() => assertRetryPolicy({ type: 'exponential', base: 2, max: 1e20 })).toThrow(InvalidOptionError);
  });
});
