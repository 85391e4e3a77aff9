import { describe, expect, it } from 'vitest';
import { createRouteTable, Dispatcher, JobRegistry, MemoryQueueDriver } from '../../../core/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';
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
