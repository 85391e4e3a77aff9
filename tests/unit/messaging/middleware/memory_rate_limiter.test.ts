import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../../core/errors.js';
import { MemoryRateLimiter } from '../../../../core/messaging/middleware/index.js';

function fakeClock(start = 1_000_000) {
  const clock = { now: start, advance: (ms: number) => (clock.now += ms) };
  return clock;
}

describe('MemoryRateLimiter.hit', () => {
  it('allows `limit` hits per window, counting down what remains', async () => {
    const clock = fakeClock();
    const limiter = new MemoryRateLimiter({ now: () => clock.now });
    expect(await limiter.hit('d1', 3, 1_000)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
    expect(await limiter.hit('d1', 3, 1_000)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
    expect(await limiter.hit('d1', 3, 1_000)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    expect(await limiter.hit('d1', 3, 1_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1_000 });
  });

  it('tells when the oldest counted hit leaves the window', async () => {
    const clock = fakeClock();
    const limiter = new MemoryRateLimiter({ now: () => clock.now });
    await limiter.hit('d1', 2, 1_000);
    clock.advance(300);
    await limiter.hit('d1', 2, 1_000);
    clock.advance(200);
    expect(await limiter.hit('d1', 2, 1_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 500 });
    clock.advance(499);
    expect((await limiter.hit('d1', 2, 1_000)).retryAfterMs).toBe(1);
  });

  it('slides: a hit counts for exactly windowMs, then frees its place', async () => {
    const clock = fakeClock();
    const limiter = new MemoryRateLimiter({ now: () => clock.now });
    await limiter.hit('d1', 2, 1_000); // t=0
    clock.advance(600);
    await limiter.hit('d1', 2, 1_000); // t=600
    clock.advance(399); // t=999: both still count
    expect((await limiter.hit('d1', 2, 1_000)).allowed).toBe(false);
    clock.advance(1); // t=1000: the first has left the window
    expect(await limiter.hit('d1', 2, 1_000)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    expect(await limiter.hit('d1', 2, 1_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 600 });
  });

  it('does not count refused hits', async () => {
    const clock = fakeClock();
    const limiter = new MemoryRateLimiter({ now: () => clock.now });
    await limiter.hit('d1', 1, 1_000);
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      expect((await limiter.hit('d1', 1, 1_000)).allowed).toBe(false);
    }
    clock.advance(500);
    expect((await limiter.hit('d1', 1, 1_000)).allowed).toBe(true);
  });

  it('keeps keys apart', async () => {
    const limiter = new MemoryRateLimiter();
    expect((await limiter.hit('d1', 1, 60_000)).allowed).toBe(true);
    expect((await limiter.hit('d1', 1, 60_000)).allowed).toBe(false);
    expect((await limiter.hit('d2', 1, 60_000)).allowed).toBe(true);
  });

  it('reports the wait until enough hits leave when the limit was lowered', async () => {
    const clock = fakeClock();
    const limiter = new MemoryRateLimiter({ now: () => clock.now });
    for (let i = 0; i < 4; i++) {
      await limiter.hit('d1', 4, 1_000);
      clock.advance(100);
    } // hits at 0, 100, 200, 300; now 400
    expect(await limiter.hit('d1', 2, 1_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 800 });
  });

  it('drops keys whose hits have all left their window', async () => {
    const clock = fakeClock();
    const limiter = new MemoryRateLimiter({ now: () => clock.now });
    for (let i = 0; i < 500; i++) await limiter.hit(`old-${i}`, 1, 1_000);
    clock.advance(1_000);
    for (let i = 0; i < 600; i++) await limiter.hit('busy', 1_000, 10_000);
    expect(limiter.size).toBe(1);
  });

  it("keeps a long window's hits through a sweep after a short window hit the same key", async () => {
    const clock = fakeClock();
    const limiter = new MemoryRateLimiter({ now: () => clock.now });
    expect((await limiter.hit('shared:d1', 1, 10_000)).allowed).toBe(true);
    clock.advance(1);
    expect((await limiter.hit('shared:d1', 1, 100)).allowed).toBe(true);
    clock.advance(200);
    for (let i = 0; i < 1_000; i++) await limiter.hit(`other-${i}`, 1, 10_000); // sweeps once
    expect((await limiter.hit('shared:d1', 1, 10_000)).allowed).toBe(false);
    expect(limiter.size).toBe(1_001);
  });

  it('holds a key past 128 characters as its SHA-1, each long key keeping a budget of its own', async () => {
    const limiter = new MemoryRateLimiter();
    const long = (i: number) => `device:${String(i).padStart(60_000, 'x')}`;
    for (let i = 0; i < 100; i++) expect((await limiter.hit(long(i), 1, 60_000)).allowed).toBe(true);
    await limiter.hit('device:d1', 1, 60_000);
    const held = limiter.heldKeys();
    expect(held).toHaveLength(101);
    // '60000:' and 'sha1:<40 hex digits>'
    expect(Math.max(...held.map((budget) => budget.length))).toBe('60000:'.length + 45);
    expect(held).toContain('60000:device:d1');
    expect((await limiter.hit(long(0), 1, 60_000)).allowed).toBe(false);
    expect((await limiter.hit(long(99), 1, 60_000)).allowed).toBe(false);
    expect((await limiter.hit(long(100), 1, 60_000)).allowed).toBe(true);
  });

  it('refuses an empty key and a limit or window that is not a positive integer', async () => {
    const limiter = new MemoryRateLimiter();
    await expect(limiter.hit('', 1, 1_000)).rejects.toThrow(InvalidOptionError);
    await expect(limiter.hit('d1', 0, 1_000)).rejects.toThrow(/positive integer/);
    await expect(limiter.hit('d1', 1.5, 1_000)).rejects.toThrow(InvalidOptionError);
    await expect(limiter.hit('d1', 1, 0)).rejects.toThrow(/window/);
    await expect(limiter.hit('d1', 1, Number.NaN)).rejects.toThrow(InvalidOptionError);
  });
});
