import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../../core/support/timers.js';

describe('withDeadline', () => {
  it('settles as the work does when it comes in time', async () => {
    await expect(withDeadline(Promise.resolve(7), 1_000, 'late')).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('broken')), 1_000, 'late')).rejects.toThrow('broken');
  });

  it('rejects with the message when the work has not settled in time', async () => {
    const never = new Promise<number>(() => {});

    await expect(withDeadline(never, 20, 'no answer within 20 ms')).rejects.toThrow('no answer within 20 ms');
  });
});
