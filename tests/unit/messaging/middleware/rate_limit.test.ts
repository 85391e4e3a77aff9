import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, RateLimitedError, RedisUnavailableError } from '../../../../core/errors.js';
import { createLogger } from '../../../../core/logger.js';
import {
  MemoryRateLimiter,
  type RateLimiter,
  rateLimit,
} from '../../../../core/messaging/middleware/index.js';
import { capturingLogger } from '../../../support/capturing_logger.js';
import { makeContext, recordingNext } from './context_fixture.js';

/** Records the keys it was asked about; allows everything. */
function spyLimiter(): RateLimiter & { keys: string[] } {
  const keys: string[] = [];
  return {
    keys,
    hit: async (key, limit) => {
      keys.push(key);
      return { allowed: true, remaining: limit - 1, retryAfterMs: 0 };
    },
  };
}

describe('rateLimit', () => {
  it('calls next within the limit and throws E_RATE_LIMITED over it, without calling next', async () => {
    const middleware = rateLimit(new MemoryRateLimiter(), { limit: 2, windowMs: 60_000 });
    const recorder = recordingNext();
    await middleware(makeContext({ deviceId: 'd1' }), recorder.next);
    await middleware(makeContext({ deviceId: 'd1' }), recorder.next);
    const over = middleware(makeContext({ deviceId: 'd1' }), recorder.next);
    await expect(over).rejects.toThrow(RateLimitedError);
    await expect(over).rejects.toMatchObject({ code: 'E_RATE_LIMITED' });
    await expect(over).rejects.toThrow(
      /^device "d1" sent more than 2 messages in 60000 ms \(on devices\/d1\/telemetry\); it may send again in \d+ ms/,
    );
    expect(recorder.calls).toBe(2);
  });

  it('counts by deviceId, else the deviceId parameter (both labelled device:), else the client id (labelled client:)', async () => {
    const limiter = spyLimiter();
    const middleware = rateLimit(limiter, { limit: 5, windowMs: 1_000 });
    await middleware(
      makeContext({ deviceId: 'auth', params: { deviceId: 'param' }, clientId: 'client' }),
      async () => {},
    );
    await middleware(makeContext({ params: { deviceId: 'param' }, clientId: 'client' }), async () => {});
    await middleware(makeContext({ params: {}, clientId: 'client' }), async () => {});
    expect(limiter.keys).toEqual([
      '5per1000ms:device:auth',
      '5per1000ms:device:param',
      '5per1000ms:client:client',
    ]);
  });

  it("keeps a client whose client id is a device's id off that device's budget", async () => {
    const middleware = rateLimit(new MemoryRateLimiter(), { limit: 2, windowMs: 60_000 });
    const recorder = recordingNext();
    const client = () => makeContext({ topic: 'gateway/bulk', params: {}, clientId: 'd2' });
    await middleware(client(), recorder.next);
    await middleware(client(), recorder.next);
    await expect(middleware(client(), recorder.next)).rejects.toThrow(/^client "d2" sent more than 2/);
    await middleware(makeContext({ topic: 'devices/d2/telemetry', deviceId: 'd2' }), recorder.next);
    expect(recorder.calls).toBe(3);
  });

  it('counts a device across routes by default, and per route when each limit is named', async () => {
    const limiter = new MemoryRateLimiter();
    const recorder = recordingNext();
    const telemetry = makeContext({ topic: 'devices/d1/telemetry', deviceId: 'd1' });
    const status = makeContext({
      topic: 'devices/d1/status',
      route: 'devices/{deviceId}/status',
      deviceId: 'd1',
    });
    await rateLimit(limiter, { limit: 1, windowMs: 60_000 })(telemetry, recorder.next);
    await expect(rateLimit(limiter, { limit: 1, windowMs: 60_000 })(status, recorder.next)).rejects.toThrow(
      RateLimitedError,
    );
    await rateLimit(limiter, { limit: 1, windowMs: 60_000, name: 'telemetry' })(telemetry, recorder.next);
    await rateLimit(limiter, { limit: 1, windowMs: 60_000, name: 'status' })(status, recorder.next);
    expect(recorder.calls).toBe(3);
  });

  it('uses a custom key and name', async () => {
    const limiter = spyLimiter();
    const middleware = rateLimit(limiter, {
      limit: 5,
      windowMs: 1_000,
      name: 'alarms',
      key: (ctx) => ctx.topic,
    });
    await middleware(makeContext(), async () => {});
    expect(limiter.keys).toEqual(['alarms:devices/d1/telemetry']);
  });

  it('keeps the budgets of middleware with different limits apart on one limiter', async () => {
    const limiter = new MemoryRateLimiter();
    const perSecond = rateLimit(limiter, { limit: 1, windowMs: 1_000 });
    const perMinute = rateLimit(limiter, { limit: 2, windowMs: 60_000 });
    const recorder = recordingNext();
    const both = () => {
      const ctx = makeContext({ deviceId: 'd1' });
      return perMinute(ctx, () => perSecond(ctx, recorder.next) as Promise<void>) as Promise<void>;
    };
    await both();
    expect(recorder.calls).toBe(1);
    await expect(both()).rejects.toThrow(/more than 1 messages in 1000 ms/);
  });

  it('lets a message through unlimited when no key can be derived', async () => {
    const limiter = spyLimiter();
    const recorder = recordingNext();
    const lines: string[] = [];
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write: (chunk, _encoding, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    await rateLimit(limiter, { limit: 1, windowMs: 1_000 })(makeContext({ params: {}, log }), recorder.next);
    expect(lines.join('')).toContain('"event":"message.rate_limit_skipped"');
    await rateLimit(limiter, { limit: 1, windowMs: 1_000, key: () => '' })(makeContext(), recorder.next);
    expect(limiter.keys).toEqual([]);
    expect(recorder.calls).toBe(2);
  });

  it('lets messages through when the limiter fails, unless failOpen is false', async () => {
    const broken: RateLimiter = { hit: () => Promise.reject(new RedisUnavailableError('down')) };
    const recorder = recordingNext();
    await rateLimit(broken, { limit: 1, windowMs: 1_000 })(makeContext(), recorder.next);
    expect(recorder.calls).toBe(1);
    await expect(
      rateLimit(broken, { limit: 1, windowMs: 1_000, failOpen: false })(makeContext(), recorder.next),
    ).rejects.toThrow(RedisUnavailableError);
    expect(recorder.calls).toBe(1);
  });

  it('logs a failing limiter for the first message and every 1,000th, not for each', async () => {
    const broken: RateLimiter = { hit: () => Promise.reject(new RedisUnavailableError('down')) };
    const log = capturingLogger('warn');
    const middleware = rateLimit(broken, { limit: 1, windowMs: 1_000 });
    const recorder = recordingNext();
    for (let i = 0; i < 1_500; i++) await middleware(makeContext({ log: log.logger }), recorder.next);

    expect(recorder.calls).toBe(1_500);
    expect(log.events('message.rate_limit_unavailable').map((line) => line.failures)).toEqual([1, 1_000]);
  });

  it('logs the first failure of each outage of the limiter', async () => {
    let failing = true;
    const flaky: RateLimiter = {
      hit: async () => {
        if (failing) throw new RedisUnavailableError('down');
        return { allowed: true, remaining: 99, retryAfterMs: 0 };
      },
    };
    const log = capturingLogger('warn');
    const middleware = rateLimit(flaky, { limit: 100, windowMs: 1_000 });
    const recorder = recordingNext();
    for (const state of [true, true, false, true]) {
      failing = state;
      await middleware(makeContext({ log: log.logger }), recorder.next);
    }

    expect(log.events('message.rate_limit_unavailable').map((line) => line.failures)).toEqual([1, 1]);
  });

  it('quotes and shortens a device id in its message', async () => {
    const id = `x\n${'y'.repeat(300)}`;
    const middleware = rateLimit(new MemoryRateLimiter(), { limit: 1, windowMs: 1_000 });
    await middleware(makeContext({ deviceId: id }), async () => {});
    const error = await (middleware(makeContext({ deviceId: id }), async () => {}) as Promise<void>).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toMatch(/^device "x\\ny+…" sent/);
    expect((error as Error).message.length).toBeLessThan(300);
  });

  it('carries a key past 128 characters in its error as a SHA-1, not whole', async () => {
    const id = 'x'.repeat(60_000);
    const middleware = rateLimit(new MemoryRateLimiter(), { limit: 1, windowMs: 1_000 });
    await middleware(makeContext({ params: { deviceId: id } }), async () => {});
    const error = await (
      middleware(makeContext({ params: { deviceId: id } }), async () => {}) as Promise<void>
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).key).toMatch(/^sha1:[0-9a-f]{40}$/);
    expect((error as RateLimitedError).message.length).toBeLessThan(300);

    await middleware(makeContext({ deviceId: 'd1' }), async () => {});
    const short = await (middleware(makeContext({ deviceId: 'd1' }), async () => {}) as Promise<void>).catch(
      (e: unknown) => e,
    );
    expect((short as RateLimitedError).key).toBe('device:d1');
  });

  it('refuses a failOpen that is not a boolean when it is built', () => {
    for (const failOpen of ['no', 0, null]) {
      expect(() =>
        rateLimit(new MemoryRateLimiter(), { limit: 1, windowMs: 1_000, failOpen: failOpen as never }),
      ).toThrow(InvalidOptionError);
    }
    expect(() =>
      rateLimit(new MemoryRateLimiter(), { limit: 1, windowMs: 1_000, failOpen: false }),
    ).not.toThrow();
  });

  it('refuses a limit or window that is not a positive integer when it is built', () => {
    expect(() => rateLimit(new MemoryRateLimiter(), { limit: 0, windowMs: 1_000 })).toThrow(
      InvalidOptionError,
    );
    expect(() => rateLimit(new MemoryRateLimiter(), { limit: 1, windowMs: -5 })).toThrow(InvalidOptionError);
  });

  it('refuses a name with ":", whose budgets could meet another name\'s (telemetry + burst:d1 = telemetry:burst + d1)', () => {
    const limiter = new MemoryRateLimiter();
    for (const name of ['telemetry:burst', '', 'x'.repeat(65), 'a b']) {
      expect(() => rateLimit(limiter, { limit: 1, windowMs: 60_000, name })).toThrow(InvalidOptionError);
    }
    expect(() =>
      rateLimit(limiter, { limit: 1, windowMs: 60_000, name: 'telemetry-burst.v2' }),
    ).not.toThrow();
  });
});
