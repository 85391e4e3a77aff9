/**
 * A worker announces `completed` only once the completion is stored: a completion the
 * driver refuses (the lease was lost, and the job will run again) announces nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  Job,
  type JobEvent,
  JobEventPublisher,
  JobRegistry,
  MemoryQueueDriver,
  Worker,
} from '../../../core/index.js';

class EchoJob extends Job<{ n: number }, number> {
  static override readonly jobName = 'EchoJob';
  async handle({ n }: { n: number }): Promise<number> {
    return n * 2;
  }
}

describe('completed events', () => {
  const drivers: MemoryQueueDriver[] = [];
  afterEach(async () => {
    for (const driver of drivers.splice(0)) await driver.close();
  });

  /** Runs one EchoJob to the end; `stealLease` makes the driver see a forged token on completion. */
  async function runOne(stealLease: boolean) {
    const driver = new MemoryQueueDriver();
    drivers.push(driver);
    const timeline: string[] = [];
    const complete = driver.complete.bind(driver);
    driver.complete = async (completions) => {
      const stored = await complete(
        stealLease ? completions.map((c) => ({ ...c, lease: { ...c.lease, token: 'stolen' } })) : completions,
      );
      timeline.push(`stored:${stored.join(',')}`);
      return stored;
    };
    const publish = driver.publishEvents.bind(driver);
    // as if a process listened, so batches are sent
    driver.hasEventListeners = () => true;
    const events: JobEvent[] = [];
    driver.publishEvents = (batch) => {
      for (const event of batch.toEvents()) {
        events.push(event);
        timeline.push(`event:${event.status}`);
      }
      publish(batch);
    };
    const registry = new JobRegistry().register(EchoJob);
    const publisher = new JobEventPublisher(driver, true, { maxBatch: 1 });
    await new Dispatcher(driver, registry).dispatch(EchoJob, { n: 21 }, { queue: 'q' });
    const worker = new Worker({ driver, registry, queues: ['q'], events: publisher, once: true });
    await worker.run();
    publisher.flush();
    return { timeline, events };
  }

  it('announces completed, with the result and duration, after the completion is stored', async () => {
    const { timeline, events } = await runOne(false);
    expect(timeline).toEqual(['event:running', 'stored:true', 'event:completed']);
    expect(events[1]).toMatchObject({ status: 'completed', result: 42, attempt: 1 });
    expect(events[1]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('announces nothing for a completion refused because the lease was lost', async () => {
    const { timeline } = await runOne(true);
    expect(timeline).toEqual(['event:running', 'stored:false']);
  });
});
