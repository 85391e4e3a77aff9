/** Which Redis errors mean "the database was refused": the SELECT of one past the server's count. */
import { describe, expect, it } from 'vitest';
import { isDatabaseRefusal } from '../../../../../core/queue/drivers/redis/unavailable.js';

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
