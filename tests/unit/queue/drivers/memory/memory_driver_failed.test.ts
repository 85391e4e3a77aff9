import { describe, expect, it } from 'vitest';
import { MemoryQueueDriver } from '../../../../../core/queue/drivers/memory/index.js';
import { clockedDriver, leaseOf, newJob, reserveOptions, START } from './fixtures.js';

/** A driver with jobs f1, f2, f3 failed 1 s apart, in that order. */
async function threeFailed() {
  const clocked = clockedDriver();
  const { driver, advance } = clocked;
  await driver.push([newJob('f1'), newJob('f2'), newJob('f3')]);
  for (let index = 0; index < 3; index++) {
    advance(1_000);
    const { jobs } = await driver.reserve('q', reserveOptions());
    await driver.fail({ lease: leaseOf(jobs[0]!), error: { message: 'boom' }, retryInMs: null });
  }
  return clocked;
}

const ids = (records: { id: string }[]) => records.map((record) => record.id);

describe('MemoryQueueDriver failed jobs', () => {
  it('lists failed jobs newest first, with offset and limit', async () => {
    const { driver } = await threeFailed();
    expect(ids(await driver.listFailed('q', 0, 10))).toEqual(['f3', 'f2', 'f1']);
    expect(ids(await driver.listFailed('q', 1, 1))).toEqual(['f2']);
    expect(ids(await driver.listJobs('q', 'failed', 0, 10))).toEqual(['f3', 'f2', 'f1']);
  });

  it('retries selected failed jobs with their attempts reset and their error cleared', async () => {
    const { driver, now } = await threeFailed();
    expect(await driver.retryFailed('q', { ids: ['f1', 'unknown', 'f1'] })).toEqual({
      retried: 1,
      expired: [],
      missing: ['unknown'],
    });
    expect(await driver.getJob('q', 'f1')).toMatchObject({
      status: 'queued',
      attempts: 0,
      error: null,
      finishedAt: null,
      queuedAt: now(),
    });
    const { jobs } = await driver.reserve('q', reserveOptions());
    expect(jobs[0]).toMatchObject({ id: 'f1', attempt: 1 });
    expect(ids(await driver.listFailed('q', 0, 10))).toEqual(['f3', 'f2']);
  });

  it('selects failed jobs that failed at or before a time, or all of them', async () => {
    const { driver } = await threeFailed();
    expect(await driver.removeFailed('q', { failedBefore: START + 2_000 })).toBe(2);
    expect(await driver.getJob('q', 'f1')).toBeUndefined();
    expect(ids(await driver.listFailed('q', 0, 10))).toEqual(['f3']);
    expect((await driver.retryFailed('q', { all: true })).retried).toBe(1);
    expect(await driver.counts('q')).toMatchObject({ failed: 0, waiting: 1 });
  });

  it('keeps no more failed records than failedCount, dropping the oldest', async () => {
    const driver = new MemoryQueueDriver({ failedCount: 2 });
    await driver.push([newJob('f1'), newJob('f2'), newJob('f3')]);
    for (const job of (await driver.reserve('q', reserveOptions({ count: 3 }))).jobs) {
      await driver.fail({ lease: leaseOf(job), error: { message: 'boom' }, retryInMs: null });
    }
    expect(ids(await driver.listFailed('q', 0, 10))).toHaveLength(2);
    expect(await driver.counts('q')).toMatchObject({ failed: 2 });
  });
});
