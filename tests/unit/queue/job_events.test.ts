import { afterEach, describe, expect, it } from 'vitest';
import appConfig from '../../../config/app.js';
import queueConfig from '../../../config/queue.js';
import {
  Application,
  Dispatcher,
  type JobEvent,
  JobEventPublisher,
  JobRegistry,
  type Logger,
  MAX_EVENT_RESULT_BYTES,
  MemoryQueueDriver,
} from '../../../core/index.js';
import { EchoJob } from '../../support/test_jobs.js';
import { capturingLogger } from '../../support/capturing_logger.js';

const job = (id: string) => ({ id, name: 'EchoJob', queue: 'q' });

describe('JobEventPublisher', () => {
  const drivers: MemoryQueueDriver[] = [];
  afterEach(async () => {
    for (const driver of drivers.splice(0)) await driver.close();
  });

  function recorder() {
    const driver = new MemoryQueueDriver();
    drivers.push(driver);
    const batches: (readonly JobEvent[])[] = [];
    const publish = driver.publishEvents.bind(driver);
    driver.publishEvents = (batch) => {
      batches.push(batch.toEvents());
      publish(batch);
    };
    // as if a process listened: these tests are about what is sent when one does
    driver.hasEventListeners = () => true;
    return { driver, batches };
  }

  it("keeps a dispatch's place for its queued events, before what a worker records meanwhile", () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    const recordQueued = events.placeQueued();
    events.started({ ...job('a'), attempt: 1 }, 'w1'); // the store's wake-up was quicker than its answer
    events.started({ ...job('d'), attempt: 1 }, 'w1');
    recordQueued(
      [job('a')],
      [
        { job: job('d'), status: 'queued', runAt: 1 },
        { job: job('h'), status: 'pending' },
      ],
    );
    events.flush();
    expect(batches.map((batch) => batch.map((event) => `${event.id}:${event.status}`))).toEqual([
      ['a:queued', 'd:queued', 'h:pending', 'a:running', 'd:running'],
    ]);
    expect(batches[0]?.[1]).toMatchObject({ runAt: 1, attempt: 0 });

    // a dispatch whose store failed says so: nothing is sent for it, and nothing waits on it
    events.placeQueued()([]);
    events.started({ ...job('c'), attempt: 1 }, 'w1');
    events.flush();
    expect(batches.slice(1).map((batch) => batch.map((event) => `${event.id}:${event.status}`))).toEqual([
      ['c:running'],
    ]);
  });

  it('holds what a worker records after a dispatch’s place, when the window ends first, until the dispatch answers', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    events.started({ ...job('x'), attempt: 1 }, 'w1'); // before the place: sent with the window
    const late = events.placeQueued();
    events.started({ ...job('b'), attempt: 1 }, 'w1'); // the worker was quicker than the store's answer
    events.flush(); // the window ends before the answer
    late([job('b')]);
    events.flush();
    expect(batches.map((batch) => batch.map((event) => `${event.id}:${event.status}`))).toEqual([
      ['x:running'],
      ['b:queued', 'b:running'],
    ]);
  });

  it('sends what waits on a dispatch that does not answer within a second, and its queued events after', () => {
    const { driver, batches } = recorder();
    let now = 1_000_000;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
      const slow = events.placeQueued();
      events.started({ ...job('b'), attempt: 1 }, 'w1');
      events.flush();
      expect(batches).toEqual([]);
      now += 1001;
      events.flush();
      slow([job('b')]);
      events.flush();
      expect(batches.map((batch) => batch.map((event) => `${event.id}:${event.status}`))).toEqual([
        ['b:running'],
        ['b:queued'],
      ]);
    } finally {
      Date.now = realNow;
    }
  });

  it('holds back at most half a message of bytes behind a dispatch’s place, and counts what it holds', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBytes: 100 });
    const sent = () => batches.map((batch) => batch.map((event) => event.id));
    events.placeQueued();
    events.emit(job('small'), 'failed', 1, 'w1', { error: { message: 'e'.repeat(30) } });
    events.flush();
    expect(sent()).toEqual([]); // 30 bytes wait
    events.emit(job('more'), 'failed', 1, 'w1', { error: { message: 'e'.repeat(30) } });
    events.flush(); // 60 bytes would wait: more than half of 100, so they go
    expect(sent()).toEqual([['small', 'more']]);
    // what waits counts towards the next message: 40 waiting and 70 more reach 100, which sends it
    const second = events.placeQueued();
    events.emit(job('a'), 'failed', 1, 'w1', { error: { message: 'e'.repeat(40) } });
    events.flush();
    second([]);
    events.emit(job('b'), 'failed', 1, 'w1', { error: { message: 'e'.repeat(70) } });
    expect(sent()).toEqual([
      ['small', 'more'],
      ['a', 'b'],
    ]);
  });

  it('lets nothing wait on the place of a dispatch whose store failed', async () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    const dispatcher = new Dispatcher(driver, new JobRegistry().register(EchoJob), events);
    driver.push = async () => {
      events.started({ ...job('w'), attempt: 1 }, 'w1'); // recorded while the store is asked
      throw new Error('Redis is away');
    };
    await expect(dispatcher.dispatch(EchoJob, { tag: 't', value: 'v' }, { queue: 'q' })).rejects.toThrow(
      'Redis is away',
    );
    events.flush();
    expect(batches.map((batch) => batch.map((event) => `${event.id}:${event.status}`))).toEqual([
      ['w:running'],
    ]);
  });

  it('holds back at most half a message behind a dispatch’s place, and a closing flush sends it all', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBatch: 10 });
    const first = events.placeQueued();
    for (const id of ['a', 'b', 'c']) events.started({ ...job(id), attempt: 1 }, 'w1');
    events.flush();
    expect(batches).toEqual([]); // three wait
    for (const id of ['d', 'e', 'f']) events.started({ ...job(id), attempt: 1 }, 'w1');
    events.flush(); // six would wait: more than half of 10, so they go
    expect(batches.map((batch) => batch.map((event) => event.id))).toEqual([['a', 'b', 'c', 'd', 'e', 'f']]);
    first([job('a')]); // late: after them
    events.placeQueued();
    events.started({ ...job('g'), attempt: 1 }, 'w1');
    events.flush(true); // a closing process sends what waits, too
    expect(batches.slice(1).map((batch) => batch.map((event) => `${event.id}:${event.status}`))).toEqual([
      ['a:queued', 'g:running'],
    ]);
  });

  it("keeps at most maxBatch changes in a dispatch's place, and sends the rest after, none lost", () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBatch: 10 });
    const recordQueued = events.placeQueued();
    events.started({ ...job('w'), attempt: 1 }, 'w1');
    const plain = Array.from({ length: 8 }, (_, i) => job(`q${i}`));
    const delayed = Array.from({ length: 25 }, (_, i) => ({
      job: job(`d${i}`),
      status: 'delayed' as const,
      runAt: 1,
    }));
    recordQueued(plain, delayed);
    events.flush();
    expect(batches.every((batch) => batch.length <= 11)).toBe(true); // a place's 10, and the one before
    const sent = batches.flat().map((event) => event.id);
    expect(sent.slice(0, 10)).toEqual([...plain.map((j) => j.id), 'd0', 'd1']); // the place, first
    expect([...sent].sort()).toEqual(
      ['w', ...plain.map((j) => j.id), ...delayed.map((d) => d.job.id)].sort(),
    );
  });

  it('sends the events of a short window as one batch, in order', async () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 20 });
    events.emit(job('a'), 'running', 1, 'w1');
    events.emit(job('a'), 'completed', 1, 'w1', { result: null, durationMs: 1 });
    events.emit(job('b'), 'running', 1, 'w1');
    expect(batches).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((event) => `${event.id}:${event.status}`)).toEqual([
      'a:running',
      'a:completed',
      'b:running',
    ]);
    expect(batches[0]![0]).toMatchObject({ worker: 'w1', attempt: 1 });
  });

  it('cuts a long run of queued jobs into messages of at most maxBatch jobs', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBatch: 1000 });
    events.queued(Array.from({ length: 2500 }, (_, index) => job(`j${index}`)));
    events.flush();
    expect(batches.map((batch) => batch.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat().map((event) => event.id)).toEqual(
      Array.from({ length: 2500 }, (_, index) => `j${index}`),
    );
    expect(batches.flat().every((event) => event.status === 'queued')).toBe(true);
  });

  it('sends nothing while nobody listens, and sends to a listener from the next window on', async () => {
    const driver = new MemoryQueueDriver();
    drivers.push(driver);
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    expect(driver.hasEventListeners()).toBe(false);
    events.emit(job('unheard'), 'queued', 0);
    events.flush();
    // subscribed after the flush: a sent batch would still reach it (delivery is on a later tick)
    const seen: JobEvent[] = [];
    const unsubscribe = await driver.subscribeEvents((event) => seen.push(event));
    events.emit(job('heard'), 'queued', 0);
    events.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.map((event) => event.id)).toEqual(['heard']);
    await unsubscribe();
    expect(driver.hasEventListeners()).toBe(false);
  });

  it('asks whether anyone listens once per window, not per change, and records nothing for nobody', () => {
    const { driver, batches } = recorder();
    let asked = 0;
    let listening = false;
    driver.hasEventListeners = () => {
      asked++;
      return listening;
    };
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) events.started({ ...job(`n${i}`), attempt: 1 }, 'w1');
    expect(asked).toBe(1);
    // a listener that comes within the window hears from the next one on
    listening = true;
    events.emit(job('late'), 'queued', 0);
    events.flush();
    expect(batches).toHaveLength(0);
    events.emit(job('heard'), 'queued', 0);
    events.flush();
    expect(batches.map((batch) => batch.map((event) => event.id))).toEqual([['heard']]);
  });

  it('ends a window of nobody listening on its own, so a new listener hears the next one', async () => {
    const driver = new MemoryQueueDriver();
    drivers.push(driver);
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 20 });
    events.emit(job('unheard'), 'queued', 0);
    const seen: string[] = [];
    await driver.subscribeEvents((event) => seen.push(event.id));
    await new Promise((resolve) => setTimeout(resolve, 40));
    events.emit(job('heard'), 'queued', 0);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(seen).toEqual(['heard']);
  });

  it('reports an async listener that rejects, instead of leaving an unhandled rejection', async () => {
    const driver = new MemoryQueueDriver();
    drivers.push(driver);
    const reported: string[] = [];
    const after: string[] = [];
    await driver.subscribeEvents(
      async (event) => {
        await Promise.resolve();
        throw new Error(`async failure on ${event.id}`);
      },
      (error) => reported.push((error as Error).message),
    );
    await driver.subscribeEvents((event) => after.push(event.id));
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    events.emit(job('a'), 'queued', 0);
    events.emit(job('b'), 'queued', 0);
    events.flush();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reported).toEqual(['async failure on a', 'async failure on b']);
    expect(after).toEqual(['a', 'b']);
  });

  it('sends at once when the batch is full, and on flush()', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBatch: 3 });
    for (const id of ['a', 'b', 'c', 'd']) events.emit(job(id), 'queued', 0);
    expect(batches.map((batch) => batch.length)).toEqual([3]);
    events.flush();
    expect(batches.map((batch) => batch.length)).toEqual([3, 1]);
    events.flush();
    expect(batches).toHaveLength(2);
  });

  it('cuts a batch of completions into messages by the size of their results, none lost', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBytes: 1000 });
    const entry = (id: string, chars: number) => {
      const value = 'x'.repeat(chars - 2);
      return { job: { ...job(id), attempt: 1 }, value, durationMs: 1, result: JSON.stringify(value) };
    };
    // 400 + 400 fit in one message; the third opens the next
    events.completed([entry('a', 400), entry('b', 400), entry('c', 400), entry('d', 100)], 'w1');
    events.flush();
    expect(batches.map((batch) => batch.map((event) => event.id))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(batches[1]?.[0]).toMatchObject({ status: 'completed', result: 'x'.repeat(398) });
  });

  it('leaves a result over MAX_EVENT_RESULT_BYTES out of its completed event, saying so', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    const big = 'y'.repeat(MAX_EVENT_RESULT_BYTES);
    events.completed(
      [
        { job: { ...job('small'), attempt: 1 }, value: 'ok', durationMs: 1, result: '"ok"' },
        { job: { ...job('big'), attempt: 2 }, value: big, durationMs: 5, result: JSON.stringify(big) },
      ],
      'w1',
    );
    events.flush();
    const [small, omitted] = batches.flat();
    expect(small).toMatchObject({ id: 'small', status: 'completed', result: 'ok' });
    expect(small).not.toHaveProperty('resultOmitted');
    expect(omitted).toMatchObject({
      id: 'big',
      status: 'completed',
      attempt: 2,
      worker: 'w1',
      durationMs: 5,
      result: null,
      resultOmitted: true,
    });
  });

  it('sizes a message by the progress data it holds, so small data does not cut it early', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBytes: 16_000 });
    for (let i = 0; i < 3; i++) events.progress({ ...job(`p${i}`), attempt: 1 }, 'w1', 10, null, { n: i }, 7);
    expect(batches).toHaveLength(0); // 21 bytes of data: one message so far
    // without its length, data counts at its bound (16 KiB): the 16,000 bytes are passed, sent
    events.progress({ ...job('unsized'), attempt: 1 }, 'w1', 10, null, { n: 4 });
    expect(batches).toHaveLength(1);
  });

  it('measures a long result in UTF-8 bytes: 6,000 CJK characters pass the cap, 5,000 do not', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    const entry = (id: string, value: string) => ({
      job: { ...job(id), attempt: 1 },
      value,
      durationMs: 1,
      result: JSON.stringify(value),
    });
    events.completed([entry('kept', '数'.repeat(5000)), entry('omitted', '数'.repeat(6000))], 'w1');
    events.flush();
    const [kept, omitted] = batches.flat();
    expect(kept).toMatchObject({ id: 'kept', result: '数'.repeat(5000) });
    expect(omitted).toMatchObject({ id: 'omitted', result: null, resultOmitted: true });
  });

  it('collects started and completed jobs with other changes, in order, counting each job', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000, maxBatch: 4 });
    const a = { ...job('a'), attempt: 1 };
    const b = { ...job('b'), attempt: 1 };
    events.started(a, 'w1');
    events.emit(job('x'), 'queued', 0);
    events.started(b, 'w1');
    expect(batches).toHaveLength(0);
    events.completed(
      [
        { job: a, value: 1, durationMs: 2 },
        { job: b, value: null, durationMs: 3 },
      ],
      'w1',
    );
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((event) => `${event.id}:${event.status}`)).toEqual([
      'a:running',
      'x:queued',
      'b:running',
      'a:completed',
      'b:completed',
    ]);
    expect(batches[0]![3]).toMatchObject({ worker: 'w1', attempt: 1, result: 1, durationMs: 2 });
    events.completed([], 'w1');
    events.flush();
    expect(batches).toHaveLength(1);
  });

  it('costs nothing when disabled', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, false);
    events.emit(job('a'), 'queued', 0);
    events.flush();
    expect(batches).toHaveLength(0);
  });
});

/** An application on the memory driver, logging to `logger`. */
function memoryApp(logger: Logger): Application {
  return new Application({
    app: appConfig.read({ LOG_LEVEL: 'error' }),
    queue: queueConfig.read({ QUEUE_DRIVER: 'memory' }),
    jobs: [],
    log: logger,
  });
}

describe('app.onJobEvent', () => {
  it('logs a listener that throws and keeps delivering to it and to the listeners after it', async () => {
    const log = capturingLogger('error');
    const app = memoryApp(log.logger);
    try {
      const tried: string[] = [];
      const after: string[] = [];
      await app.onJobEvent((event) => {
        tried.push(event.id);
        throw new Error(`cannot handle ${event.id}`);
      });
      await app.onJobEvent((event) => after.push(event.id));
      for (const id of ['a', 'b', 'c']) app.events.emit(job(id), 'queued', 0);
      app.events.flush();
      await new Promise((resolve) => setImmediate(resolve));
      expect(tried).toEqual(['a', 'b', 'c']);
      expect(after).toEqual(['a', 'b', 'c']);
      // the first failure, then every 1,000th: a listener failing on every event cannot flood the log
      const failed = log.events('job_events.listener_failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ jobId: 'a', queue: 'q', status: 'queued', failures: 1 });
      expect((failed[0]!.err as { message: string }).message).toBe('cannot handle a');
    } finally {
      await app.close();
    }
  });
});

describe('progress reports on the job event stream', () => {
  it('reach progress listeners in order with the changes of status, and not status listeners', async () => {
    const driver = new MemoryQueueDriver();
    try {
      const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
      const both: string[] = [];
      const statusOnly: string[] = [];
      await driver.subscribeEvents({
        status: (event) => both.push(`${event.id}:${event.status}`),
        progress: (event) =>
          both.push(`${event.id}:${event.progress}%:${event.progressMessage}:${event.worker}`),
      });
      await driver.subscribeEvents((event) => statusOnly.push(`${event.id}:${event.status}`));
      const running = { ...job('a'), attempt: 1 };
      events.started(running, 'w1');
      events.progress(running, 'w1', 40, 'uploading');
      events.progress(running, 'w1', 100, null);
      events.emit(job('a'), 'completed', 1, 'w1', { result: null });
      events.flush();
      await new Promise((resolve) => setImmediate(resolve));
      expect(both).toEqual(['a:running', 'a:40%:uploading:w1', 'a:100%:null:w1', 'a:completed']);
      expect(statusOnly).toEqual(['a:running', 'a:completed']);
    } finally {
      await driver.close();
    }
  });

  it('are not recorded in a window that opened while nobody listened', () => {
    const driver = new MemoryQueueDriver();
    const published: number[] = [];
    driver.publishEvents = (batch) => {
      published.push(batch.size);
    };
    // nobody when the window opens; somebody by the time it is sent
    let listening = false;
    driver.hasEventListeners = () => listening;
    const events = new JobEventPublisher(driver, true, { flushIntervalMs: 60_000 });
    const running = { ...job('a'), attempt: 1 };
    events.progress(running, 'w1', 40, null);
    listening = true;
    events.emit(job('b'), 'queued', 0);
    events.flush();
    expect(published).toEqual([]);
    events.progress(running, 'w1', 50, null);
    events.flush();
    expect(published).toEqual([1]);
  });

  it('reach app.onJobProgress, and a listener that throws is logged as status "progress"', async () => {
    const log = capturingLogger('error');
    const app = memoryApp(log.logger);
    try {
      const heard: number[] = [];
      await app.onJobProgress((event) => heard.push(event.progress));
      await app.onJobProgress(() => {
        throw new Error('dashboard down');
      });
      app.events.progress({ ...job('a'), attempt: 1 }, 'w1', 25, null);
      app.events.flush();
      await new Promise((resolve) => setImmediate(resolve));
      expect(heard).toEqual([25]);
      expect(log.events('job_events.listener_failed')[0]).toMatchObject({ jobId: 'a', status: 'progress' });
    } finally {
      await app.close();
    }
  });
});

describe('cancel requests on the memory driver', () => {
  it('reach every listener even when one throws, and do not end the process', async () => {
    const driver = new MemoryQueueDriver();
    try {
      const id = await new Dispatcher(driver, new JobRegistry().register(EchoJob)).dispatch(
        EchoJob,
        { tag: 'cancel-listeners', value: 'x' },
        { queue: 'q' },
      );
      await driver.reserve('q', { count: 1, leaseMs: 30_000, worker: 'w1', defaultMaxTries: 1 });
      const heard: string[] = [];
      await driver.subscribeCancels(() => {
        throw new Error('listener bug');
      });
      await driver.subscribeCancels((_queue, cancelled) => heard.push(cancelled));
      expect(await driver.cancel('q', id)).toBe('running');
      await new Promise((resolve) => setImmediate(resolve));
      expect(heard).toEqual([id]);
    } finally {
      await driver.close();
    }
  });
});
