/**
 * A route's middleware and handler have a deadline per message (`MQTT_HANDLER_TIMEOUT_MS`):
 * acknowledgements go out in arrival order, so one handler that never settles would hold back
 * every later message. Past it the message is dead-lettered with `E_HANDLER_TIMEOUT`, `ctx.signal`
 * fires, and the handler can no longer dispatch; waits for the message's own dispatches (a Redis
 * outage) do not count.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  createRouteTable,
  Dispatcher,
  Job,
  JobRegistry,
  type MessageContext,
  MemoryQueueDriver,
  MemoryStateStore,
} from '../../../core/index.js';
import type { NewJob } from '../../../core/queue/driver.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';

class PingJob extends Job<{ n: number }> {
  async handle(): Promise<void> {}
}

/** A memory driver whose pushes wait until `open()` (Redis away, as a dispatch sees it). */
class GatedDriver extends MemoryQueueDriver {
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  closeGate(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }
  open(): void {
    this.#open?.();
    this.#gate = undefined;
  }
  override async push(jobs: readonly NewJob[]) {
    await this.#gate;
    return super.push(jobs);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the handler deadline', () => {
  it('dead-letters a message whose handler never settles, fires ctx.signal, and refuses its later dispatches', async () => {
    const routes = createRouteTable();
    let seen: MessageContext<{}> | undefined;
    let lateDispatch: Promise<unknown> | undefined;
    routes.on('devices/{deviceId}/hang', async (ctx) => {
      seen = ctx;
      ctx.signal.addEventListener('abort', () => {
        lateDispatch = ctx.dispatch(PingJob, { n: 1 });
      });
      await new Promise(() => {}); // a fetch to a server that never answers
    });
    const driver = new MemoryQueueDriver();
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      dispatcher: new Dispatcher(driver, new JobRegistry().register(PingJob)),
      handlerTimeoutMs: 100,
    });

    const started = performance.now();
    await pipeline.handle(fakeMessage('devices/d1/hang', {}));

    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    expect(pipeline.stats).toMatchObject({ handled: 1, deadLettered: 1 });
    const [letter] = await deadLetters.list(10);
    expect(letter).toMatchObject({ topic: 'devices/d1/hang', code: 'E_HANDLER_TIMEOUT' });
    expect(letter?.reason).toContain('ran past 100 ms');
    expect(seen?.signal.aborted).toBe(true);
    expect(seen?.signal.reason).toMatchObject({ code: 'E_HANDLER_TIMEOUT' });
    await expect(lateDispatch).rejects.toMatchObject({ code: 'E_HANDLER_TIMEOUT' });
    expect((await driver.counts('default')).waiting).toBe(0);
  });

  it('lets the next message through once the stuck one is given up', async () => {
    const routes = createRouteTable();
    const handled: string[] = [];
    routes.on('devices/{deviceId}/hang', () => new Promise<void>(() => {}));
    routes.on('devices/{deviceId}/ok', (ctx) => {
      handled.push(ctx.params.deviceId);
    });
    const { pipeline } = memoryPipeline(routes, { handlerTimeoutMs: 50 });
    const stuck = pipeline.handle(fakeMessage('devices/d1/hang', {}));
    await pipeline.handle(fakeMessage('devices/d2/ok', {}));
    await stuck;
    expect(handled).toEqual(['d2']);
  });

  it('gives up each stuck message at its own deadline, whatever came between', async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/hang', () => new Promise<void>(() => {}));
    routes.on('devices/{deviceId}/ok', () => {});
    const { pipeline, deadLetters } = memoryPipeline(routes, { handlerTimeoutMs: 100 });
    const started = performance.now();
    const first = pipeline.handle(fakeMessage('devices/d1/hang', {})).then(() => performance.now() - started);
    await sleep(60);
    await pipeline.handle(fakeMessage('devices/d2/ok', {}));
    const second = pipeline
      .handle(fakeMessage('devices/d3/hang', {}))
      .then(() => performance.now() - started);
    const [firstAt, secondAt] = await Promise.all([first, second]);
    expect(firstAt).toBeGreaterThanOrEqual(95);
    expect(secondAt).toBeGreaterThanOrEqual(155);
    // within the recheck's quarter second of the deadline, not a deadline later
    expect(secondAt).toBeLessThan(60 + 100 + 400);
    expect((await deadLetters.list(10)).map((letter) => letter.topic).sort()).toEqual([
      'devices/d1/hang',
      'devices/d3/hang',
    ]);
  });

  it('does not count the time a dispatch waits for the store, and stores the job once it serves', async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/reading', async (ctx) => {
      await ctx.dispatch(PingJob, { n: 1 });
    });
    const driver = new GatedDriver();
    driver.closeGate();
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      dispatcher: new Dispatcher(driver, new JobRegistry().register(PingJob)),
      handlerTimeoutMs: 100,
    });
    const handled = pipeline.handle(fakeMessage('devices/d1/reading', {}));
    await sleep(600); // six deadlines while Redis is away
    driver.open();
    await handled;
    expect(await deadLetters.list(10)).toEqual([]);
    expect(pipeline.stats).toMatchObject({ handled: 1, deadLettered: 0 });
    expect((await driver.counts('default')).waiting).toBe(1);
  });

  it("counts the handler's own time after a long dispatch: one that then hangs is given up", async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/reading', async (ctx) => {
      await ctx.dispatch(PingJob, { n: 1 });
      await new Promise(() => {});
    });
    const driver = new GatedDriver();
    driver.closeGate();
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      dispatcher: new Dispatcher(driver, new JobRegistry().register(PingJob)),
      handlerTimeoutMs: 150,
    });
    const handled = pipeline.handle(fakeMessage('devices/d1/reading', {}));
    await sleep(400);
    driver.open();
    await handled;
    expect((await deadLetters.list(10)).map((letter) => letter.code)).toEqual(['E_HANDLER_TIMEOUT']);
    // the job it stored before it hung stays stored
    expect((await driver.counts('default')).waiting).toBe(1);
  });

  it('refuses a state merge of a handler still running after its message was given up', async () => {
    const routes = createRouteTable();
    let lateMerge: Promise<unknown> | undefined;
    routes.on('devices/{deviceId}/hang', async (ctx) => {
      ctx.signal.addEventListener('abort', () => {
        lateMerge = ctx.state.merge('devices', ctx.params.deviceId, { online: true });
      });
      await new Promise(() => {});
    });
    const state = new MemoryStateStore();
    const { pipeline } = memoryPipeline(routes, { handlerTimeoutMs: 50, state });
    await pipeline.handle(fakeMessage('devices/d1/hang', {}));
    await expect(lateMerge).rejects.toMatchObject({ code: 'E_HANDLER_TIMEOUT' });
    expect(await state.get('devices', 'd1')).toBeUndefined();
  });

  it.each([-1, 1.5, 2 ** 31, Number.POSITIVE_INFINITY, Number.NaN])(
    'refuses a handlerTimeoutMs of %s, which a Node timer would fire at once',
    (handlerTimeoutMs) => {
      expect(() => memoryPipeline(createRouteTable(), { handlerTimeoutMs })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_OPTION',
          message: expect.stringContaining('handlerTimeoutMs'),
        }),
      );
    },
  );

  it('gives nothing up once the pipeline is closed: a message left then stays unacknowledged', async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/hang', () => new Promise<void>(() => {}));
    const { pipeline, deadLetters } = memoryPipeline(routes, { handlerTimeoutMs: 50 });
    let settled = false;
    void pipeline.handle(fakeMessage('devices/d1/hang', {})).finally(() => (settled = true));
    pipeline.close();
    await sleep(200);
    expect(settled).toBe(false);
    expect(await deadLetters.list(10)).toEqual([]);
  });

  it('gives a run up at its deadline even when the timer fires a little before the clock says it is due', async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/hang', () => new Promise<void>(() => {}));
    const { pipeline } = memoryPipeline(routes, { handlerTimeoutMs: 50 });
    const now = performance.now.bind(performance);
    let calls = 0;
    // the clock reads 5 ms behind from the second reading on (the run's start is the first)
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (++calls > 1 ? now() - 5 : now()));
    try {
      const started = now();
      await pipeline.handle(fakeMessage('devices/d1/hang', {}));
      // due again 5 ms later, not a quarter second
      expect(now() - started).toBeLessThan(200);
    } finally {
      clock.mockRestore();
    }
  });

  it('waits without end with no deadline (0)', async () => {
    const routes = createRouteTable();
    let release: (() => void) | undefined;
    routes.on('devices/{deviceId}/slow', () => new Promise<void>((resolve) => (release = resolve)));
    const { pipeline } = memoryPipeline(routes, { handlerTimeoutMs: 0 });
    let done = false;
    const handled = pipeline.handle(fakeMessage('devices/d1/slow', {})).then(() => (done = true));
    await sleep(200);
    expect(done).toBe(false);
    release?.();
    await handled;
    expect(pipeline.stats).toMatchObject({ handled: 1, deadLettered: 0 });
  });
});
