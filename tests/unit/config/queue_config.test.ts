/** The queue settings read from the environment: the lease bounds shared with the CLI and Worker. */
import { describe, expect, it } from 'vitest';
import queueConfig from '../../../config/queue.js';
import { MAX_LEASE_MS, MIN_LEASE_MS } from '../../../core/index.js';

describe('QUEUE_LEASE_MS', () => {
  it('defaults to 30 s and takes the bounds themselves', () => {
    expect(queueConfig.read({}).leaseMs).toBe(30_000);
    expect(queueConfig.read({ QUEUE_LEASE_MS: String(MIN_LEASE_MS) }).leaseMs).toBe(MIN_LEASE_MS);
    expect(queueConfig.read({ QUEUE_LEASE_MS: String(MAX_LEASE_MS) }).leaseMs).toBe(MAX_LEASE_MS);
  });

  it.each([String(MIN_LEASE_MS - 1), String(MAX_LEASE_MS + 1), '1500.5', 'long'])(
    'refuses %j with E_INVALID_CONFIG naming it',
    (value) => {
      expect(() => queueConfig.read({ QUEUE_LEASE_MS: value })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringMatching(/QUEUE_LEASE_MS/),
        }),
      );
    },
  );
});
