/**
 * A route that fails because the store could not serve (Redis away, loading, busy) is run
 * again after a backoff, its message unacknowledged meanwhile, instead of being dead-lettered;
 * once the pipeline is closed, `handle` rejects and the message stays unacknowledged.
 */
import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import {
  createRouteTable,
  InvalidMessageError,
  RedisAuthError,
  RedisUnavailableError,
} from '../../../core/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';
import { until } from '../../support/until.js';

/** A route whose handler throws each of `failures` in turn, then succeeds; counts its runs. */
function failingRoute(failures: Error[]) {
  const routes = createRouteTable();
  const runs = { count: 0 };
  routes.on('devices/{deviceId}/status', () => {
    const failure = failures[runs.count++];
    if (failure) throw failure;
  });
  return { routes, runs };
}

describe('MessagePipeline when the store cannot serve', () => {
  it.each([
    ['E_REDIS_UNAVAILABLE', new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer')],
    ['E_REDIS_AUTH', new RedisAuthError("Redis at 127.0.0.1:6379 refused the connection's password")],
    ['a closed ioredis connection', new Error('Connection is closed.')],
    ['a LOADING reply', new ReplyError('LOADING Redis is loading the dataset in memory')],
    [
      "a script's refused write, as Redis 6 reports it",
      new ReplyError(
        'ERR Error running script (call to f_3c17): @user_script:28: -OOM command not allowed when used memory > maxmemory',
      ),
    ],
    [
      'E_REDIS_UNAVAILABLE wrapped by a middleware',
      new Error('could not read the device', { cause: new RedisUnavailableError('Redis did not answer') }),
    ],
  ])('runs the route again after %s, and dead-letters nothing', async (_label, failure) => {
    const { routes, runs } = failingRoute([failure, failure]);
    const log = capturingLogger('warn');
    const { pipeline, deadLetters } = memoryPipeline(routes, { log: log.logger });

    await pipeline.handle(fakeMessage('devices/d1/status', { online: true }));

    expect(runs.count).toBe(3);
    expect(await deadLetters.list(10)).toEqual([]);
    expect(pipeline.stats).toMatchObject({ handled: 1, deadLettered: 0 });
    // sampled: the first failure and every 1,000th
    expect(log.events('message.store_unavailable')).toEqual([
      expect.objectContaining({
        topic: 'devices/d1/status',
        route: 'devices/{deviceId}/status',
        failures: 1,
      }),
    ]);
  });

  it.each([
    [
      'a WRONGTYPE reply',
      new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
    ],
    [
      "an HTTP client's ECONNREFUSED",
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:443'), { code: 'ECONNREFUSED' }),
    ],
    ['an error of user code that starts like a Redis reply', new Error('BUSY: the device is updating')],
    ['a parse error quoting a payload', new InvalidMessageError('payload is not valid JSON: "ECONNRESET"')],
  ])('dead-letters at once a route that failed for another reason: %s', async (_label, failure) => {
    const { routes, runs } = failingRoute([failure]);
    const { pipeline, deadLetters } = memoryPipeline(routes);

    await pipeline.handle(fakeMessage('devices/d1/status', { online: true }));

    expect(runs.count).toBe(1);
    expect(await deadLetters.list(10)).toEqual([expect.objectContaining({ reason: failure.message })]);
  });

  it('rejects, leaving the message unacknowledged, when closed while the store cannot serve', async () => {
    const unavailable = new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer');
    const { routes, runs } = failingRoute(Array.from({ length: 100 }, () => unavailable));
    const { pipeline, deadLetters } = memoryPipeline(routes);

    const handled = pipeline.handle(fakeMessage('devices/d1/status', { online: true }));
    const outcome = handled.then(
      () => 'acknowledged',
      (error: unknown) => error,
    );
    await until('the route ran twice', () => runs.count >= 2);
    pipeline.close();
    const runsAtClose = runs.count;

    expect(await outcome).toBe(unavailable);
    expect(runs.count).toBe(runsAtClose); // not run again once closed
    expect(await deadLetters.list(10)).toEqual([]);
    expect(pipeline.stats.deadLettered).toBe(0);
  });

  it('logs the first failure of each outage, not only of the first', async () => {
    const unavailable = new RedisUnavailableError('Redis did not answer');
    const routes = createRouteTable();
    let failuresLeft = 0;
    routes.on('devices/{deviceId}/status', () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        throw unavailable;
      }
    });
    const log = capturingLogger('warn');
    const { pipeline } = memoryPipeline(routes, { log: log.logger });

    for (const outage of [1, 2]) {
      failuresLeft = 2;
      await pipeline.handle(fakeMessage('devices/d1/status', { online: true, outage }));
    }

    expect(log.events('message.store_unavailable').map((line) => line.failures)).toEqual([1, 1]);
  });
});
