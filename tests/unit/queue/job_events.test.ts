import { afterEach, describe, expect, it } from 'vitest';
import { type JobEvent, JobEventPublisher, MemoryQueueDriver } from '../../../core/index.js';

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
    driver.publishEvents = (events) => {
      batches.push(events);
      publish(events);
    };
    return { driver, batches };
  }

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

  it('costs nothing when disabled', () => {
    const { driver, batches } = recorder();
    const events = new JobEventPublisher(driver, false);
    events.emit(job('a'), 'queued', 0);
    events.flush();
    expect(batches).toHaveLength(0);
  });
});
