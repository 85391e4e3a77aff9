/** Recording a failed attempt tries again while Redis is away or passing through a failover, and only then. */
import { describe, expect, it } from 'vitest';
import { RedisUnavailableError } from '../../../core/errors.js';
import { silentLogger } from '../../../core/logger.js';
import type { Failure, QueueDriver } from '../../../core/queue/driver.js';
import { recordFailure } from '../../../core/queue/record_failure.js';

const failure: Failure = {
  lease: { id: 'j1', queue: 'q', token: 't' },
  error: { message: 'boom' },
  retryInMs: null,
};

/** A driver whose `fail` throws `errors` in turn, then answers `failed`. */
function failingWith(...errors: Error[]) {
  const calls: Failure[] = [];
  const driver = {
    fail: async (sent: Failure) => {
      calls.push(sent);
      const error = errors.shift();
      if (error) throw error;
      return { outcome: 'failed' as const };
    },
  } as unknown as QueueDriver;
  return { driver, calls };
}

describe('recordFailure', () => {
  it('sends the same failure again after E_REDIS_UNAVAILABLE and LOADING, BUSY or READONLY replies', async () => {
    const { driver, calls } = failingWith(
      new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer'),
      new Error('LOADING Redis is loading the dataset in memory'),
      new Error('READONLY You cannot write against a read only replica.'),
    );
    expect(await recordFailure(driver, failure, silentLogger())).toEqual({ outcome: 'failed' });
    expect(calls).toHaveLength(4);
    expect(calls.every((sent) => sent === failure)).toBe(true);
  });

  it('sends the same failure again while Redis is out of memory, of disk or of replicas', async () => {
    const { driver, calls } = failingWith(
      new Error("OOM command not allowed when used memory > 'maxmemory'."),
      new Error(
        'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
      ),
      new Error('NOREPLICAS Not enough good replicas to write.'),
    );
    expect(await recordFailure(driver, failure, silentLogger())).toEqual({ outcome: 'failed' });
    expect(calls).toHaveLength(4);
  });

  it('throws any other error at once, and gives up after six tries', async () => {
    const other = failingWith(new Error('ERR Error running script'));
    await expect(recordFailure(other.driver, failure, silentLogger())).rejects.toThrow(/running script/);
    expect(other.calls).toHaveLength(1);
    const away = failingWith(...Array.from({ length: 6 }, () => new RedisUnavailableError('away')));
    await expect(recordFailure(away.driver, failure, silentLogger())).rejects.toMatchObject({
      code: 'E_REDIS_UNAVAILABLE',
    });
    expect(away.calls).toHaveLength(6);
  }, 10_000);
});
