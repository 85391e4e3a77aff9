import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../core/mqtt/backoff.js';

const policy = { baseMs: 500, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles the window with each attempt until it reaches the cap', () => {
    const almostOne = () => 0.999_999;
    const windows = [0, 1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, policy, almostOne) + 1);
    expect(windows).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('can wait anything from zero up to the window (full jitter)', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(2000);
  });

  it('spreads a fleet of reconnecting clients over the whole window', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4, policy));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8000);
    const quarters = [0, 0, 0, 0];
    for (const delay of delays) quarters[Math.floor(delay / 2000)]! += 1;
    for (const count of quarters) expect(count).toBeGreaterThan(350);
  });

  it('stays finite and capped for very large attempt numbers', () => {
    expect(backoffDelay(10_000, policy, () => 0.999_999)).toBe(29_999);
    expect(backoffDelay(-3, policy, () => 0.999_999)).toBe(499);
  });
});
