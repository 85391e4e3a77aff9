import { describe, expect, it } from 'vitest';
import type { Lease } from '../../../../../core/queue/driver.js';
import { clockedDriver, leaseOf, newJob, reserveOptions } from './fixtures.js';

async function reservedJob(id = 'a', leaseMs = 1_000) {
  const clocked = clockedDriver();
  await clocked.driver.push([newJob(id)]);
  const { jobs } = await clocked.driver.reserve('q', reserveOptions({ leaseMs }));
  return { ...clocked, lease: leaseOf(jobs[0]!) };
}

describe('MemoryQueueDriver leases', () => {
  it('ignores every call made with a token that does not own the job', async () => {
    const { driver, lease } = await reservedJob();
    const forged: Lease = { ...lease, token: 'not-the-token' };
    expect(await driver.extend([forged], 1_000)).toEqual(['lost']);
    expect(await driver.complete([{ lease: forged, result: '1' }])).toEqual([false]);
    expect((await driver.fail({ lease: forged, error: { message: 'x' }, retryInMs: null })).outcome).toBe(
      'lost',
    );
    expect(await driver.progress(forged, 50, 'half')).toBe(false);
    await driver.release([forged]);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'running', attempts: 1, progress: 0 });
  });

  it('reports lost for a lease in an unknown queue', async () => {
    const { driver, lease } = await reservedJob();
    expect(await driver.extend([{ ...lease, queue: 'other' }], 1_000)).toEqual(['lost']);
  });

  it('moves the lease deadline when a lease is extended', async () => {
    const { driver, lease, advance } = await reservedJob('a', 1_000);
    advance(900);
    expect(await driver.extend([lease], 1_000)).toEqual(['ok']);
    advance(900);
    expect((await driver.reserve('q', reserveOptions())).jobs).toEqual([]);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'running', attempts: 1 });
  });

  it('answers cancel on renewal after a cancel was requested, and still extends the lease', async () => {
    const { driver, lease, advance } = await reservedJob('a', 1_000);
    expect(await driver.cancel('q', 'a')).toBe('running');
    advance(900);
    expect(await driver.extend([lease], 1_000)).toEqual(['cancel']);
    advance(900);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'running' });
  });

  it('stores the parsed result and keeps the progress when a job completes', async () => {
    const { driver, lease, now } = await reservedJob();
    expect(await driver.progress(lease, 40, 'halfway')).toBe(true);
    expect(await driver.complete([{ lease, result: '{"sent":true}' }])).toEqual([true]);
    expect(await driver.getJob('q', 'a')).toMatchObject({
      status: 'completed',
      result: { sent: true },
      finishedAt: now(),
      progress: 40,
      progressMessage: 'halfway',
    });
    expect(await driver.complete([{ lease, result: 'null' }])).toEqual([false]);
    expect(await driver.counts('q')).toMatchObject({ running: 0, completed: 1 });
  });

  it('fails a job for good when no retry is asked for', async () => {
    const { driver, lease, now } = await reservedJob();
    const error = { message: 'boom', code: 'E_X', stack: 'Error: boom' };
    expect((await driver.fail({ lease, error, retryInMs: null })).outcome).toBe('failed');
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'failed', error, finishedAt: now() });
  });

  it('delays a retried job by retryInMs and queues it at once for 0', async () => {
    const { driver, lease, now, advance } = await reservedJob();
    expect((await driver.fail({ lease, error: { message: 'later' }, retryInMs: 2_000 })).outcome).toBe(
      'retrying',
    );
    expect(await driver.getJob('q', 'a')).toMatchObject({
      status: 'delayed',
      runAt: now() + 2_000,
      error: { message: 'later' },
    });
    advance(2_000);
    const { jobs } = await driver.reserve('q', reserveOptions());
    expect(jobs[0]).toMatchObject({ id: 'a', attempt: 2 });

    expect(
      (await driver.fail({ lease: leaseOf(jobs[0]!), error: { message: 'again' }, retryInMs: 0 })).outcome,
    ).toBe('retrying');
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'queued', queuedAt: now() });
  });

  it('cancels a failing job whose cancel was requested instead of retrying it', async () => {
    const { driver, lease } = await reservedJob();
    await driver.cancel('q', 'a');
    expect((await driver.fail({ lease, error: { message: 'stopped' }, retryInMs: 0 })).outcome).toBe(
      'cancelled',
    );
    expect(await driver.getJob('q', 'a')).toMatchObject({
      status: 'cancelled',
      error: { message: 'stopped' },
    });
  });

  it('puts a released job back at the front without counting the attempt', async () => {
    const { driver } = clockedDriver();
    await driver.push([newJob('a'), newJob('b')]);
    const { jobs } = await driver.reserve('q', reserveOptions());
    await driver.release([leaseOf(jobs[0]!)]);
    expect(await driver.getJob('q', 'a')).toMatchObject({ status: 'queued', attempts: 0 });
    const again = await driver.reserve('q', reserveOptions({ count: 2 }));
    expect(again.jobs.map((job) => [job.id, job.attempt])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
  });

  it('ends a job cancelled, not queued, when it is released after its cancel was requested', async () => {
    const { driver, lease } = await reservedJob();
    await driver.cancel('q', 'a');
    await driver.release([lease]);
    expect((await driver.getJob('q', 'a'))?.status).toBe('cancelled');
    expect((await driver.reserve('q', reserveOptions())).jobs).toEqual([]);
  });
});
