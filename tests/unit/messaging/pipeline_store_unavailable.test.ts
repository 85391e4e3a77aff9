/**
 * A route that fails because the store could not serve (Redis away, loading, busy) is run
 * again after a backoff, its message unacknowledged meanwhile, instead of being dead-lettered;
 * once the pipeline is closed, `handle` rejects and the message stays unacknowledged.
 */
import { describe, expect, it } from 'vitest';
import { createRouteTable, RedisUnavailableError } from '../../../core/index.js';
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
    ['a raw connection error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {})],
    ['a LOADING reply', new Error('LOADING Redis is loading the dataset in memory')],
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

  it('dead-letters at once a route that failed for another reason', async () => {
    const { routes, runs } = failingRoute([
      new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
    ]);
    const { pipeline, deadLetters } = memoryPipeline(routes);

    await pipeline.handle(fakeMessage('devices/d1/status', { online: true }));

    expect(runs.count).toBe(1);
    expect(await deadLetters.list(10)).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/^WRONGTYPE/) }),
    ]);
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

    expect(await outcome).toBe(unavailable);
    expect(await deadLetters.list(10)).toEqual([]);
    expect(pipeline.stats.deadLettered).toBe(0);
  });
});
