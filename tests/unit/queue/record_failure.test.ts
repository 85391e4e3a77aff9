/**
 * Recording a failed attempt tries again while Redis is away or passing through a failover, and
 * only then: a few tries, then on until Redis answers or the worker's grace period ends.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RedisUnavailableError } from '../../../core/errors.js';
import { createLogger, silentLogger } from '../../../core/logger.js';
import type { Failure, QueueDriver } from '../../../core/queue/driver.js';
import {
  loggedError,
  MAX_ERROR_CODE_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_ERROR_STACK_LENGTH,
  recordFailure,
  storedError,
  thrownError,
} from '../../../core/queue/record_failure.js';
import { capturingLogger } from '../../support/capturing_logger.js';

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

  it('throws any other error at once, and gives up after six tries once its signal has aborted', async () => {
    const other = failingWith(new Error('ERR Error running script'));
    await expect(recordFailure(other.driver, failure, silentLogger())).rejects.toThrow(/running script/);
    expect(other.calls).toHaveLength(1);
    // a job failing in the last moments of a shutdown still gets its few tries
    const away = failingWith(...Array.from({ length: 7 }, () => new RedisUnavailableError('away')));
    const log = capturingLogger('info');
    await expect(
      recordFailure(away.driver, failure, log.logger, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    expect(away.calls).toHaveLength(6);
    expect(log.events('job.fail_retry')).toHaveLength(5);
    expect(log.events('job.fail_waiting')).toEqual([]);
  }, 10_000);

  it.concurrent('goes on past six tries until Redis answers, saying so once and when it lands', async () => {
    const { driver, calls } = failingWith(
      ...Array.from({ length: 8 }, () => new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer')),
    );
    const log = capturingLogger('info');
    const signal = new AbortController().signal;
    expect(await recordFailure(driver, failure, log.logger, { signal })).toEqual({ outcome: 'failed' });
    expect(calls).toHaveLength(9);
    expect(log.events('job.fail_retry').map((line) => line.tries)).toEqual([1, 2, 3, 4, 5]);
    expect(log.events('job.fail_waiting')).toMatchObject([
      { level: 40, err: { code: 'E_REDIS_UNAVAILABLE' }, msg: expect.stringMatching(/until Redis answers/) },
    ]);
    expect(log.events('job.fail_recorded')).toMatchObject([{ level: 30, outcome: 'failed' }]);
  }, 10_000);

  it.concurrent('stops waiting at once when its signal aborts, throwing the last error', async () => {
    const controller = new AbortController();
    const calls: number[] = [];
    const driver = {
      fail: async () => {
        calls.push(calls.length + 1);
        // the wait after the eighth try is 0.2-0.4 s: aborting 50 ms into it must end it
        if (calls.length === 8) setTimeout(() => controller.abort(), 50);
        throw new Error(`LOADING Redis is loading the dataset in memory (${calls.length})`);
      },
    } as unknown as QueueDriver;
    const log = capturingLogger('info');
    await expect(recordFailure(driver, failure, log.logger, { signal: controller.signal })).rejects.toThrow(
      /LOADING .*\(8\)/,
    );
    expect(calls).toHaveLength(8);
    expect(log.events('job.fail_waiting')).toHaveLength(1);
    expect(log.events('job.fail_recorded')).toEqual([]);
  }, 10_000);

  it.concurrent('throws any other error at once while waiting too', async () => {
    const { driver, calls } = failingWith(
      ...Array.from({ length: 6 }, () => new RedisUnavailableError('away')),
      new Error('ERR Error running script'),
    );
    const signal = new AbortController().signal;
    await expect(recordFailure(driver, failure, silentLogger(), { signal })).rejects.toThrow(
      /running script/,
    );
    expect(calls).toHaveLength(7);
  }, 10_000);

  it('logs each retry on the job logger without repeating the jobId and queue it is bound to', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const log = createLogger({ level: 'warn', destination }).child({
      jobId: 'j1',
      job: 'R',
      queue: 'q',
      attempt: 1,
    });
    const { driver } = failingWith(new Error('LOADING Redis is loading the dataset in memory'));
    await recordFailure(driver, failure, log);
    const line = lines.find((text) => text.includes('"job.fail_retry"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ jobId: 'j1', queue: 'q', tries: 1 });
    // a parser keeps one of two equal keys: a strict ingester refuses the line, so count them in the text
    expect(line?.match(/"jobId":/g)).toHaveLength(1);
    expect(line?.match(/"queue":/g)).toHaveLength(1);
  });
});

describe('thrownError and storedError', () => {
  it.each([
    ['a string', 'plain', 'plain', undefined],
    ['null', null, 'null', undefined],
    ['a symbol', Symbol('s'), 'Symbol(s)', undefined],
    ['an object with no prototype', Object.create(null), '[object Object]', undefined],
    ['a plain object with a message and code', { message: 'quota', code: 'E_QUOTA' }, 'quota', 'E_QUOTA'],
    ['a plain object without a message', { reason: 'x' }, '{"reason":"x"}', undefined],
  ])(
    'describes %s thrown without throwing, keeping a string message and code',
    (_label, value, message, code) => {
      const error = thrownError(value);
      expect(error).toBeInstanceOf(Error);
      expect(storedError(error)).toEqual({ message, ...(code ? { code } : {}), stack: `Error: ${message}` });
    },
  );

  it('returns an Error that reads safely as it is, and replaces one whose getters throw', () => {
    const fine = Object.assign(new TypeError('fine'), { code: 'E_FINE' });
    expect(thrownError(fine)).toBe(fine);
    const getter = {
      get: () => {
        throw new Error('getter threw');
      },
    };
    const badMessage = Object.defineProperty(new RangeError('x'), 'message', getter);
    expect(storedError(thrownError(badMessage))).toMatchObject({
      message: 'an Error whose message could not be read',
    });
    const badStack = Object.defineProperty(new RangeError('y'), 'stack', getter);
    expect(storedError(thrownError(badStack))).toEqual({ message: 'y', stack: 'RangeError: y' });
    const badField = Object.defineProperty(new Error('z'), 'detail', { ...getter, enumerable: true });
    expect(thrownError(badField) === badField).toBe(false);
  });

  it('cuts the message and stack it stores, marking the cut', () => {
    const error = new Error('m'.repeat(MAX_ERROR_MESSAGE_LENGTH + 10));
    error.stack = 's'.repeat(MAX_ERROR_STACK_LENGTH + 20);
    expect(storedError(error)).toEqual({
      message: `${'m'.repeat(MAX_ERROR_MESSAGE_LENGTH)}… [10 more characters cut]`,
      stack: `${'s'.repeat(MAX_ERROR_STACK_LENGTH)}… [20 more characters cut]`,
    });
  });

  it('cuts a code of 2 MB it stores to 256 characters, marking the cut', () => {
    const error = Object.assign(new Error('huge code'), { code: 'C'.repeat(2_000_000) });
    expect(storedError(error).code).toBe(
      `${'C'.repeat(MAX_ERROR_CODE_LENGTH)}… [1999744 more characters cut]`,
    );
    expect(storedError(Object.assign(new Error('x'), { code: 'E_QUOTA' })).code).toBe('E_QUOTA');
  });
});

describe('loggedError', () => {
  it('keeps a code that is no string, such as an HTTP status, on the copy it logs', () => {
    const error = Object.assign(new Error('m'.repeat(MAX_ERROR_MESSAGE_LENGTH + 1)), { code: 502 });
    expect((loggedError(error) as Error & { code?: unknown }).code).toBe(502);
  });

  it('logs an error of ordinary size as it is, with its own fields', () => {
    const error = Object.assign(new Error('request failed'), { status: 502, body: 'Bad gateway' });
    expect(loggedError(error)).toBe(error);
  });

  it('logs a copy with long fields of its own cut: a response body of 2 MB, bytes by their size', () => {
    const error = Object.assign(new Error('request failed with status 502'), {
      status: 502,
      responseBody: 'B'.repeat(2_000_000),
      raw: Buffer.alloc(1_000_000),
      code: 'C'.repeat(1000),
    });
    const logged = loggedError(error) as Error & Record<string, unknown>;
    expect(logged).not.toBe(error);
    expect(logged.message).toBe('request failed with status 502');
    expect(logged.status).toBe(502);
    expect(logged.responseBody).toBe(
      `${'B'.repeat(MAX_ERROR_MESSAGE_LENGTH)}… [${2_000_000 - MAX_ERROR_MESSAGE_LENGTH} more characters cut]`,
    );
    expect(logged.raw).toBe('[1000000 bytes]');
    expect((logged.code as string).length).toBeLessThan(MAX_ERROR_CODE_LENGTH + 40);
    expect(JSON.stringify({ ...logged, stack: logged.stack }).length).toBeLessThan(
      2 * MAX_ERROR_MESSAGE_LENGTH + MAX_ERROR_STACK_LENGTH,
    );
  });
});
