import { describe, expect, it } from 'vitest';
import { sampledFailures } from '../../../core/support/sampled_failures.js';

describe('sampledFailures', () => {
  it('reports the first failure and every 1,000th, with its count', () => {
    const failed = sampledFailures();
    const reported: number[] = [];
    for (let i = 0; i < 2500; i++) {
      const count = failed();
      if (count !== undefined) reported.push(count);
    }
    expect(reported).toEqual([1, 1000, 2000]);
  });

  it('keeps separate counts per counter and honours another step', () => {
    const a = sampledFailures(2);
    const b = sampledFailures(2);
    expect([a(), a(), a(), a()]).toEqual([1, 2, undefined, 4]);
    expect(b()).toBe(1);
  });

  it('counts again from the first failure after reset()', () => {
    const failed = sampledFailures(2);
    expect([failed(), failed(), failed()]).toEqual([1, 2, undefined]);
    failed.reset();
    expect([failed(), failed()]).toEqual([1, 2]);
  });
});
