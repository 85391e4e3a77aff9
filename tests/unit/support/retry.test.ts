/** retryUntilDone: tries again until the operation resolves, gives up when told, ends on abort. */
import { describe, expect, it } from 'vitest';
import { retryUntilDone } from '../../../core/support/retry.js';

describe('retryUntilDone', () => {
  it('tries again after each failure until the operation resolves', async () => {
    let failures = 2;
    const waits: number[] = [];
    const result = await retryUntilDone(
      async () => {
        if (failures-- > 0) throw new Error('not yet');
        return 'done';
      },
      { onError: (_error, retryInMs) => waits.push(retryInMs) },
    );
    expect(result).toBe('done');
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(100); // 200 ms with jitter down to half
    expect(waits[0]).toBeLessThanOrEqual(200);
  });

  it('ends a wait at once when its signal aborts, rejecting with the last error', async () => {
    const stop = new AbortController();
    const failure = new Error('store unavailable');
    let tries = 0;
    const retrying = retryUntilDone(
      async () => {
        tries++;
        throw failure;
      },
      // aborted as the first wait begins: without the signal it would try for ever
      { onError: () => queueMicrotask(() => stop.abort()), signal: stop.signal },
    );
    await expect(retrying).rejects.toBe(failure);
    expect(tries).toBe(1);
  });
});
