/**
 * The contract every RateLimiter keeps (see core/messaging/middleware/rate_limiter.ts),
 * on the real clock. Run against each limiter by its own test file, with fresh keys per test.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../../core/errors.js';
import type { RateLimiter } from '../../../../core/messaging/middleware/index.js';
import { sleep } from '../../../support/queue_names.js';

export function defineRateLimiterContract(label: string, limiter: () => RateLimiter): void {
  const freshKey = () => `device-${randomBytes(4).toString('hex')}`;

  describe(`${label} rate limiter contract`, () => {
    it('allows `limit` hits per window, counting down what remains, then refuses', async () => {
      const key = freshKey();
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await limiter().hit(key, 3, 10_000));
      expect(results.map((r) => [r.allowed, r.remaining])).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      expect(results[0]!.retryAfterMs).toBe(0);
      expect(results[3]!.retryAfterMs).toBeGreaterThan(9_000);
      expect(results[3]!.retryAfterMs).toBeLessThanOrEqual(10_000);
    });

    it('slides: a hit frees its place once it is a window old, not before', async () => {
      const key = freshKey();
      const first = Date.now();
      await limiter().hit(key, 2, 300);
      await sleep(150);
      await limiter().hit(key, 2, 300);
      const refused = await limiter().hit(key, 2, 300);
      expect(refused.allowed).toBe(false);
      // The first hit leaves the window about 300 ms after it was made.
      const expectedWait = 300 - (Date.now() - first);
      expect(refused.retryAfterMs).toBeGreaterThan(expectedWait - 50);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(expectedWait + 50);
      await sleep(refused.retryAfterMs + 20);
      expect(await limiter().hit(key, 2, 300)).toMatchObject({ allowed: true, remaining: 0 });
      // The second hit still counts: the window slid, it did not reset.
      expect((await limiter().hit(key, 2, 300)).allowed).toBe(false);
      await sleep(400);
      expect(await limiter().hit(key, 2, 300)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
    });

    it('does not count refused hits', async () => {
      const key = freshKey();
      await limiter().hit(key, 1, 300);
      for (let i = 0; i < 3; i++) {
        expect((await limiter().hit(key, 1, 300)).allowed).toBe(false);
        await sleep(50);
      }
      await sleep(200);
      expect((await limiter().hit(key, 1, 300)).allowed).toBe(true);
    });

    it('waits for enough hits to leave when the limit was lowered since they were counted', async () => {
      const key = freshKey();
      await limiter().hit(key, 4, 10_000);
      await sleep(150);
      for (let i = 0; i < 3; i++) await limiter().hit(key, 4, 10_000);
      // Under a limit of 2, three of the four hits must leave: the oldest one leaving is not enough.
      const refused = await limiter().hit(key, 2, 10_000);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(9_900);
    });

    it('keeps keys apart', async () => {
      const [a, b] = [freshKey(), freshKey()];
      expect((await limiter().hit(a, 1, 10_000)).allowed).toBe(true);
      expect((await limiter().hit(a, 1, 10_000)).allowed).toBe(false);
      expect((await limiter().hit(b, 1, 10_000)).allowed).toBe(true);
    });

    it('keeps the budgets of one key with different windows apart: neither trims nor expires the other', async () => {
      const key = freshKey();
      expect((await limiter().hit(key, 1, 10_000)).allowed).toBe(true);
      // a short window is a budget of its own: the long window's hit does not count in it
      for (let i = 0; i < 5; i++) expect((await limiter().hit(key, 5, 100)).allowed).toBe(true);
      expect((await limiter().hit(key, 5, 100)).allowed).toBe(false);
      await sleep(200);
      // nor did the short window's hits trim or expire the long window's by 100 ms
      expect((await limiter().hit(key, 1, 10_000)).allowed).toBe(false);
      expect((await limiter().hit(key, 5, 100)).allowed).toBe(true);
    });

    it('shares one budget between limits of one key and window, whatever their limits', async () => {
      const key = freshKey();
      await limiter().hit(key, 3, 10_000);
      await limiter().hit(key, 3, 10_000);
      expect((await limiter().hit(key, 2, 10_000)).allowed).toBe(false);
      expect(await limiter().hit(key, 3, 10_000)).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('never allows more than the limit to concurrent hits', async () => {
      const key = freshKey();
      const results = await Promise.all(Array.from({ length: 50 }, () => limiter().hit(key, 10, 10_000)));
      expect(results.filter((r) => r.allowed)).toHaveLength(10);
      expect(
        results
          .filter((r) => r.allowed)
          .map((r) => r.remaining)
          .sort((x, y) => x - y),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('accepts any non-empty key, whatever its characters or length', async () => {
      const suffix = randomBytes(4).toString('hex');
      const keys = [
        `a b ${suffix}`,
        `{x}\r\n*${suffix}`,
        `ü🙂/${suffix}`,
        `${'k'.repeat(10_000)}${suffix}`,
        `../${suffix}`,
      ];
      for (const key of keys) {
        expect((await limiter().hit(key, 1, 10_000)).allowed).toBe(true);
        expect((await limiter().hit(key, 1, 10_000)).allowed).toBe(false);
      }
    });

    it('refuses an empty key and a limit or window that is not a positive integer', async () => {
      await expect(limiter().hit('', 1, 1_000)).rejects.toThrow(InvalidOptionError);
      await expect(limiter().hit(freshKey(), 0, 1_000)).rejects.toThrow(InvalidOptionError);
      await expect(limiter().hit(freshKey(), 1, 2.5)).rejects.toThrow(InvalidOptionError);
    });
  });
}
