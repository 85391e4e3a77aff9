import { describe, expect, it } from 'vitest';
import { isDateTime } from '../../../core/support/date_time.js';

describe('isDateTime', () => {
  it('takes the epoch-ms times a Date holds, and nothing else', () => {
    for (const time of [0, Date.now(), -8.64e15, 8.64e15]) expect(isDateTime(time)).toBe(true);
    for (const value of [8.64e15 + 1, -8.64e15 - 1, 1e300, Number.NaN, Number.POSITIVE_INFINITY, '0', null]) {
      expect(isDateTime(value)).toBe(false);
    }
    // what it says is what a Date says
    for (const time of [8.64e15, 8.64e15 + 1]) {
      expect(isDateTime(time)).toBe(Number.isFinite(new Date(time).getTime()));
    }
  });
});
