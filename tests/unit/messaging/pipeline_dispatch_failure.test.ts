import { describe, expect, it } from 'vitest';
import {
  createRouteTable,
  Dispatcher,
  JobRegistry,
  MemoryQueueDriver,
  RedisAuthError,
  RedisUnavailableError,
} from '../../../core/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';
import { until } from '../../support/until.js';
import { EchoJob } from '../../support/test_jobs.js';

describe('MessagePipeline with a failed dispatch', () => {
  it('dead-letters a message whose un-awaited dispatch could not be stored instead of acknowledging it silently', async () => {
    const driver = new MemoryQueueDriver();
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', (ctx) => {
      void ctx.dispatch(EchoJob, { tag: 't', value: 10n as never });
    });
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      dispatcher: new Dispatcher(driver, new JobRegistry().register(EchoJob)),
    });
    await pipeline.handle(fakeMessage('devices/d1/telemetry', { temperature: 1 }));
    const [entry] = await deadLetters.list(10);
    expect(entry).toMatchObject({ topic: 'devices/d1/telemetry', code: 'E_INVALID_PAYLOAD' });
    expect(pipeline.stats.deadLettered).toBe(1);
    expect((await driver.counts('default')).waiting).toBe(0);
  });
});

describe('MessagePipeline with a failed publish', () => {
  it('logs an un-awaited publish that failed as message.publish_failed and acknowledges the message', async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', (ctx) => {
      void ctx.publish(`devices/${ctx.params.deviceId}/ack`, 'ok');
    });
    const log = capturingLogger('warn');
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      log: log.logger,
      publish: async () => {
        throw new Error('the broker connection is down');
      },
    });
    await pipeline.handle(fakeMessage('devices/d1/telemetry', { temperature: 1 }));
    expect(log.events('message.publish_failed')).toEqual([
      expect.objectContaining({ publishTopic: 'devices/d1/ack', topic: 'devices/d1/telemetry' }),
    ]);
    expect(await deadLetters.list(10)).toEqual([]);
    expect(pipeline.stats.deadLettered).toBe(0);
  });
});

describe('MessagePipeline with a batch of jobs Redis refuses for what it holds', () => {
  it('stores the rest of the batch one by one and dead-letters only the message whose job is refused', async () => {
    const driver = new MemoryQueueDriver();
    const push = driver.push.bind(driver);
    let calls = 0;
    driver.push = async (jobs) => {
      calls++;
      if (jobs.some((job) => job.payload.includes('poison'))) {
        throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
      }
      return push(jobs);
    };
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', async (ctx) => {
      await ctx.dispatch(EchoJob, { tag: 'batch', value: (ctx.json as { v: string }).v });
    });
    const log = capturingLogger('warn');
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      log: log.logger,
      dispatcher: new Dispatcher(driver, new JobRegistry().register(EchoJob)),
    });
    // handled together, so their jobs share one batch
    await Promise.all(
      ['a', 'poison', 'b'].map((v) => pipeline.handle(fakeMessage(`devices/${v}/telemetry`, { v }))),
    );
    expect(calls).toBe(4); // the batch, then each job alone
    expect((await driver.counts('default')).waiting).toBe(2);
    const letters = await deadLetters.list(10);
    expect(letters.map((letter) => letter.topic)).toEqual(['devices/poison/telemetry']);
    expect(letters[0]?.reason).toMatch(/WRONGTYPE/);
    expect(log.events('ingest.batch_refused')).toEqual([expect.objectContaining({ count: 3 })]);
  });
});

describe('MessagePipeline while Redis cannot write for a while', () => {
  it.each([
    [
      'MISCONF (a full disk)',
      () => new Error('MISCONF Redis is configured to save RDB snapshots, but it cannot persist'),
    ],
    [
      'E_REDIS_AUTH (a password being rotated)',
      () => new RedisAuthError("Redis refused the connection's password"),
    ],
  ])('waits out %s instead of taking it for a refusal of the batch', async (_label, refusal) => {
    const driver = new MemoryQueueDriver();
    const push = driver.push.bind(driver);
    let refusals = 2;
    driver.push = async (jobs) => {
      if (refusals-- > 0) throw refusal();
      return push(jobs);
    };
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', async (ctx) => {
      await ctx.dispatch(EchoJob, { tag: 'misconf', value: ctx.params.deviceId });
    });
    const log = capturingLogger('warn');
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      log: log.logger,
      dispatcher: new Dispatcher(driver, new JobRegistry().register(EchoJob)),
    });
    await Promise.all(['a', 'b'].map((v) => pipeline.handle(fakeMessage(`devices/${v}/telemetry`, { v }))));
    expect((await driver.counts('default')).waiting).toBe(2);
    expect(await deadLetters.list(10)).toEqual([]);
    expect(log.events('ingest.store_failed')).toHaveLength(2);
    expect(log.events('ingest.batch_refused')).toEqual([]);
  });
});

describe('MessagePipeline.close while a dead letter cannot be stored', () => {
  it('stops retrying the dead letter, so handle() rejects and the message stays unacknowledged', async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/telemetry', () => {
      throw new Error('the handler failed');
    });
    let tries = 0;
    const { pipeline } = memoryPipeline(routes, {
      deadLetters: {
        add: async () => {
          tries++;
          // as the Redis store fails while Redis is away (any other error is not waited out)
          throw new RedisUnavailableError('Redis is unreachable');
        },
        list: async () => [],
      } as never,
    });
    const handled = pipeline.handle(fakeMessage('devices/d1/telemetry', { t: 1 }));
    await until('the first try', () => tries > 0);
    pipeline.close();
    await expect(handled).rejects.toThrow(/Redis is unreachable/);
  });
});
