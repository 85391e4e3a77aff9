/** Which Redis errors mean "the database was refused": the SELECT of one past the server's count. */
import { describe, expect, it } from 'vitest';
import {
  describeConnection,
  isDatabaseRefusal,
  rethrowUnavailable,
} from '../../../../../core/queue/drivers/redis/unavailable.js';

const answeredTo = (command: string, message: string) =>
  Object.assign(new Error(message), { command: { name: command, args: ['2'] } });

describe('isDatabaseRefusal', () => {
  it('is true for a SELECT answered "DB index is out of range", not for a password refused on it', () => {
    expect(isDatabaseRefusal(answeredTo('select', 'ERR DB index is out of range'))).toBe(true);
    // a number Redis cannot read as a database
    expect(isDatabaseRefusal(answeredTo('select', 'ERR value is out of range'))).toBe(true);
    expect(isDatabaseRefusal(answeredTo('select', 'ERR value is not an integer or out of range'))).toBe(true);
    expect(isDatabaseRefusal(answeredTo('select', 'NOAUTH Authentication required.'))).toBe(false);
    expect(isDatabaseRefusal(answeredTo('select', 'WRONGPASS invalid username-password pair'))).toBe(false);
    expect(isDatabaseRefusal(answeredTo('get', 'ERR DB index is out of range'))).toBe(false);
    expect(isDatabaseRefusal(undefined)).toBe(false);
  });
});

describe('rethrowUnavailable', () => {
  it('says, for a rediss:// connection that got no answer, that a plain Redis wants redis://', () => {
    const noConnection = Object.assign(new Error('Reached the max retries per request limit'), {
      name: 'MaxRetriesPerRequestError',
    });
    const overTls = describeConnection({ host: 'cache', port: 6380, tls: {} });
    expect(overTls).toBe('cache:6380 (TLS)');
    expect(() => rethrowUnavailable(overTls)(noConnection)).toThrow(
      expect.objectContaining({
        code: 'E_REDIS_UNAVAILABLE',
        message: expect.stringMatching(
          /^Redis at cache:6380 \(TLS\) did not answer .*rediss:\/\/, which asks for TLS: .*use redis:\/\//,
        ),
      }),
    );
    const plain = describeConnection({ host: 'cache', port: 6379 });
    let message = '';
    try {
      rethrowUnavailable(plain)(noConnection);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Redis at cache:6379 did not answer/);
    expect(message).not.toMatch(/TLS/);
  });
});
