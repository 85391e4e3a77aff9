import { describe, expect, it } from 'vitest';
import { MemoryQueueDriver } from '../../../../../core/queue/drivers/memory/index.js';
import { newJob, reserveOptions } from './fixtures.js';

/** Whether `promise` has settled after pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('MemoryQueueDriver.waitForWork', () => {
  it('wakes when a job is pushed to one of the watched queues', async () => {
    const driver = new MemoryQueueDriver();
    const waiting = driver.waitForWork(['emails', 'sms'], 60_000);
    await driver.push([newJob('other', { queue: 'reports' })]);
    expect(await settled(waiting)).toBe(false);
    await driver.push([newJob('a', { queue: 'sms' })]);
    expect(await settled(waiting)).toBe(true);
  });

  it('keeps a signal for a worker that was not waiting yet, for one wait only', async () => {
    const driver = new MemoryQueueDriver();
    await driver.push([newJob('a')]);
    expect(await settled(driver.waitForWork(['q'], 60_000))).toBe(true);
    expect(await settled(driver.waitForWork(['q'], 60_000))).toBe(false);
  });

  it('wakes one waiter per signal, and the next when a reserve leaves work behind', async () => {
    const driver = new MemoryQueueDriver();
    const first = driver.waitForWork(['q'], 60_000);
    const second = driver.waitForWork(['q'], 60_000);
    await driver.push([newJob('a'), newJob('b')]);
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(false);
    await driver.reserve('q', reserveOptions({ count: 1 }));
    expect(await settled(second)).toBe(true);
  });

  it('wakes when a job returns to the queue', async () => {
    const driver = new MemoryQueueDriver();
    await driver.push([newJob('a')]);
    const { jobs } = await driver.reserve('q', reserveOptions());
    const waiting = driver.waitForWork(['q'], 60_000);
    await driver.release([{ id: 'a', queue: 'q', token: jobs[0]!.token }]);
    expect(await settled(waiting)).toBe(true);
  });

  it('resolves after the timeout when nothing arrives', async () => {
    const driver = new MemoryQueueDriver();
    const started = performance.now();
    await driver.waitForWork(['q'], 20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('wakes every waiter on interrupt and at once after close', async () => {
    const driver = new MemoryQueueDriver();
    const first = driver.waitForWork(['a'], 60_000);
    const second = driver.waitForWork(['b'], 60_000);
    driver.interrupt();
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(true);
    const third = driver.waitForWork(['a'], 60_000);
    await driver.close();
    expect(await settled(third)).toBe(true);
    expect(await settled(driver.waitForWork(['a'], 60_000))).toBe(true);
  });
});
