/**
 * `ctx.state` as a handler sees it: the message is acknowledged once the handler's state calls
 * are done, awaited or not, and a merge that fails fails the message as a failed dispatch does.
 */
import { describe, expect, it } from 'vitest';
import { createRouteTable, type JsonObject, MemoryStateStore } from '../../../core/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A state store whose merges take 100 ms (a Redis under load), or fail. */
class SlowStateStore extends MemoryStateStore {
  failure: Error | undefined;
  override async merge(namespace: string, id: string, fields: JsonObject): Promise<JsonObject> {
    await sleep(100);
    if (this.failure) throw this.failure;
    return super.merge(namespace, id, fields);
  }
}

/** A route whose handler starts a merge and does not await it. */
function unawaitedMerge() {
  const routes = createRouteTable();
  routes.on('devices/{deviceId}/status', (ctx) => {
    void ctx.state.merge('devices', ctx.params.deviceId, { online: true });
  });
  return routes;
}

describe("a handler's state calls and the acknowledgement", () => {
  it('acknowledges a message only once a merge its handler did not await is stored', async () => {
    const state = new SlowStateStore();
    const { pipeline } = memoryPipeline(unawaitedMerge(), { state });
    await pipeline.handle(fakeMessage('devices/d1/status', {}));
    expect(await state.get('devices', 'd1')).toEqual({ online: true });
  });

  it('dead-letters a message whose un-awaited merge failed, naming the failure', async () => {
    const state = new SlowStateStore();
    state.failure = new Error('the entry holds too many fields');
    const { pipeline, deadLetters } = memoryPipeline(unawaitedMerge(), { state });
    await pipeline.handle(fakeMessage('devices/d1/status', {}));
    expect(pipeline.stats).toMatchObject({ handled: 1, deadLettered: 1 });
    expect((await deadLetters.list(10))[0]?.reason).toContain('the entry holds too many fields');
  });

  it('does not fail a message for a read the handler caught itself', async () => {
    const routes = createRouteTable();
    const state = new MemoryStateStore();
    state.get = async () => {
      throw new Error('read refused');
    };
    routes.on('devices/{deviceId}/status', async (ctx) => {
      await ctx.state.get('devices', ctx.params.deviceId).catch(() => undefined);
    });
    const { pipeline } = memoryPipeline(routes, { state });
    await pipeline.handle(fakeMessage('devices/d1/status', {}));
    expect(pipeline.stats).toMatchObject({ handled: 1, deadLettered: 0 });
  });
});
