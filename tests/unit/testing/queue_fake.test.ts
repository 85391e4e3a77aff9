import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Dispatcher,
  Job,
  JobNotRegisteredError,
  MemoryQueueDriver,
  Queue,
  QueueAssertionError,
  QueueFake,
  QueueFakeLimitError,
  QueueNotBoundError,
} from '../../../core/index.js';
import { createApplication } from '../../../bootstrap/app.js';
import { BrokenJob, ContextJob, EchoForeverJob, EmailJob, ran, ReadingJob, StepsJob } from './fixtures.js';

let fake: QueueFake;

beforeEach(() => {
  ran.length = 0;
  BrokenJob.failures.length = 0;
  fake = QueueFake.install({ jobs: [EmailJob, ReadingJob, BrokenJob, EchoForeverJob, ContextJob, StepsJob] });
});

afterEach(() => {
  fake.restore();
  vi.useRealTimers();
});

describe('QueueFake.install', () => {
  it('binds a dispatcher so static dispatch() is recorded with its queue, payload and options', async () => {
    const id = await EmailJob.dispatch(
      { to: 'a@example.com', subject: 'hi' },
      { priority: -5, delay: 60, jobId: 'email-1' },
    );
    expect(id).toBe('email-1');
    const [job] = fake.dispatchedJobs(EmailJob);
    expect(job).toMatchObject({
      id: 'email-1',
      name: 'EmailJob',
      queue: 'emails',
      payload: { to: 'a@example.com', subject: 'hi' },
      priority: -5,
      delay: 60,
      duplicate: false,
    });
  });

  it('records jobs pushed by any dispatcher on its driver, as an application built on it would', async () => {
    const appDispatcher = new Dispatcher(fake.driver);
    await appDispatcher.dispatch(ReadingJob, { deviceId: 'd1', value: 1 });
    fake.assertDispatched(ReadingJob, (reading) => reading.deviceId === 'd1');
  });

  it('restore() binds again the dispatcher that was bound before', async () => {
    fake.restore();
    expect(() => Queue.dispatcher()).toThrow(QueueNotBoundError);

    const outer = QueueFake.install();
    const inner = QueueFake.install();
    await EmailJob.dispatch({ to: 'inner@example.com', subject: 'x' });
    inner.restore();
    await EmailJob.dispatch({ to: 'outer@example.com', subject: 'x' });
    outer.restore();
    expect(inner.dispatched(EmailJob).map((email) => email.to)).toEqual(['inner@example.com']);
    expect(outer.dispatched(EmailJob).map((email) => email.to)).toEqual(['outer@example.com']);
  });

  it('binds a dispatcher bound already as the latest, once: unbinding it leaves the one before', () => {
    const other = QueueFake.install();
    Queue.bind(fake.dispatcher);
    expect(Queue.dispatcher()).toBe(fake.dispatcher);
    fake.restore();
    expect(Queue.dispatcher()).toBe(other.dispatcher);
    other.restore();
    expect(() => Queue.dispatcher()).toThrow(QueueNotBoundError);
  });

  it('stays bound when an application bound after it closes, and binds no closed application back', async () => {
    const silent = { env: { LOG_LEVEL: 'silent' } };
    const after = createApplication({ ...silent, driver: new MemoryQueueDriver() });
    expect(Queue.dispatcher()).toBe(after.dispatcher);
    await after.close();
    expect(Queue.dispatcher()).toBe(fake.dispatcher);

    const before = createApplication({ ...silent, driver: new MemoryQueueDriver() });
    const inner = QueueFake.install();
    await before.close();
    expect(Queue.dispatcher()).toBe(inner.dispatcher);
    inner.restore();
    expect(Queue.dispatcher()).toBe(fake.dispatcher);
  });

  it('records a dispatch whose job id already exists as a duplicate, which runs once', async () => {
    await EmailJob.dispatch({ to: 'a@example.com', subject: 'first' }, { jobId: 'same' });
    await EmailJob.dispatch({ to: 'a@example.com', subject: 'second' }, { jobId: 'same' });
    expect(fake.dispatchedJobs(EmailJob).map((job) => job.duplicate)).toEqual([false, true]);
    fake.assertDispatchedTimes(EmailJob, 2);
    expect(await fake.runAll()).toHaveLength(1);
  });
});

describe('QueueFake queries', () => {
  it('lists typed payloads and counts them per class and in all', async () => {
    await EmailJob.dispatch({ to: 'a@example.com', subject: 'one' });
    await ReadingJob.dispatch({ deviceId: 'd1', value: 3 });
    await ReadingJob.dispatch({ deviceId: 'd2', value: 4 });
    expect(fake.dispatched(ReadingJob)).toEqual([
      { deviceId: 'd1', value: 3 },
      { deviceId: 'd2', value: 4 },
    ]);
    expect(fake.dispatched(ReadingJob, (reading) => reading.value > 3)).toEqual([
      { deviceId: 'd2', value: 4 },
    ]);
    expect(fake.count()).toBe(3);
    expect(fake.countOf(ReadingJob)).toBe(2);
    expect(fake.countOf(BrokenJob)).toBe(0);
  });
});

describe('QueueFake assertions', () => {
  it('pass when the expectation holds', async () => {
    fake.assertNothingDispatched();
    await EmailJob.dispatch({ to: 'a@example.com', subject: 'one' });
    fake.assertDispatched(EmailJob);
    fake.assertDispatched(EmailJob, (email, job) => email.subject === 'one' && job.queue === 'emails');
    fake.assertNotDispatched(ReadingJob);
    fake.assertNotDispatched(EmailJob, (email) => email.to === 'b@example.com');
    fake.assertDispatchedTimes(EmailJob, 1);
    fake.assertCount(1);
  });

  it('fail with a message that lists what was dispatched', async () => {
    await ReadingJob.dispatch({ deviceId: 'd1', value: 3 }, { priority: 2 });
    const error = catchError(() => fake.assertDispatched(EmailJob));
    expect(error).toBeInstanceOf(QueueAssertionError);
    expect(error.message).toBe(
      'Expected EmailJob to be dispatched, but it was not.\n' +
        'Dispatched jobs (1):\n' +
        `  1. readings.process on "telemetry" [${fake.dispatchedJobs()[0]!.id}] {"deviceId":"d1","value":3} (priority 2)`,
    );
  });

  it('say when nothing at all was dispatched, or when no dispatch matched', async () => {
    expect(() => fake.assertDispatched(EmailJob, (email) => email.to === 'x')).toThrow(
      /^Expected EmailJob to be dispatched, but it was not\.\nNothing was dispatched\.$/,
    );
    await EmailJob.dispatch({ to: 'a@example.com', subject: 'one' });
    expect(() => fake.assertDispatched(EmailJob, (email) => email.to === 'x')).toThrow(
      /matching the predicate, but none of its 1 dispatch matched\.\nEmailJob jobs \(1\)/,
    );
  });

  it('list the asserted class’s dispatches first, however many other jobs came before them', async () => {
    for (let value = 0; value < 25; value++) await ReadingJob.dispatch({ deviceId: 'd1', value });
    await EmailJob.dispatch({ to: 'someone@example.com', subject: 'one' });
    const error = catchError(() =>
      fake.assertDispatched(EmailJob, (email) => email.to === 'ops@example.com'),
    );
    expect(error.message).toMatch(
      /none of its 1 dispatch matched\.\nEmailJob jobs \(1\):\n {2}1\. EmailJob .*someone@example\.com/,
    );
    expect(catchError(() => fake.assertDispatchedTimes(EmailJob, 2)).message).toMatch(
      /EmailJob jobs \(1\):.*someone@example\.com/s,
    );
    // a class never dispatched lists what was, instead
    expect(catchError(() => fake.assertDispatchedTimes(BrokenJob, 1)).message).toMatch(
      /Dispatched jobs \(26\):/,
    );
  });

  it('fail on unexpected, miscounted or any dispatches', async () => {
    await EmailJob.dispatch({ to: 'a@example.com', subject: 'one' });
    await EmailJob.dispatch({ to: 'b@example.com', subject: 'two' });
    expect(() => fake.assertNotDispatched(EmailJob, (email) => email.to === 'b@example.com')).toThrow(
      /not to be dispatched matching the predicate, but 1 dispatch matched\.\nMatching EmailJob jobs \(1\):\n {2}1\. EmailJob on "emails" .*b@example\.com/,
    );
    expect(() => fake.assertDispatchedTimes(EmailJob, 3)).toThrow(
      /Expected EmailJob to be dispatched 3 times, but it was dispatched 2 times\./,
    );
    expect(() => fake.assertDispatchedTimes(ReadingJob, 1)).toThrow(
      /dispatched once, but it was dispatched 0/,
    );
    expect(() => fake.assertCount(1)).toThrow(/Expected 1 dispatched jobs in all, but there were 2\./);
    expect(() => fake.assertNothingDispatched()).toThrow(/Dispatched jobs \(2\):/);
  });
});

describe('QueueFake.runNext', () => {
  it('runs ready jobs in dispatch order across queues, by priority within a queue', async () => {
    await ReadingJob.dispatch({ deviceId: 'd1', value: 1 });
    await EmailJob.dispatch({ to: 'late@example.com', subject: 'x' });
    await EmailJob.dispatch({ to: 'urgent@example.com', subject: 'x' }, { priority: -1 });
    await ReadingJob.dispatch({ deviceId: 'd2', value: 2 });

    const first = await fake.runNext();
    expect(first).toMatchObject({
      status: 'completed',
      job: { name: 'readings.process' },
      result: null, // as stored
    });
    const second = await fake.runNext();
    expect(second).toMatchObject({ status: 'completed', result: { sentTo: 'urgent@example.com' } });
    while (await fake.runNext()) {}
    expect(ran).toEqual([
      'reading d1=1',
      'email urgent@example.com on emails attempt 1',
      'email late@example.com on emails attempt 1',
      'reading d2=2',
    ]);
    expect(await fake.runNext()).toBeUndefined();
  });

  it('gives the job a real context and records the result in the driver', async () => {
    const id = await ContextJob.dispatch(null);
    const outcome = await fake.runNext();
    expect(outcome).toMatchObject({
      status: 'completed',
      result: { jobId: id, aborted: false, maxTries: 4 },
    });
    expect(await fake.driver.getJob('default', id)).toMatchObject({ status: 'completed', attempts: 1 });
    // as docs/testing.md says: a job's last try is tested by dispatching it with one try
    await ContextJob.dispatch(null, { maxTries: 1 });
    expect(await fake.runNext()).toMatchObject({ result: { maxTries: 1 } });
  });

  it('returns every progress report of the run, uncoalesced, and stores the last on the record', async () => {
    const id = await StepsJob.dispatch({ files: ['a.csv', 'b.csv', 'c.csv'] });
    const outcome = await fake.runNext();
    expect(outcome?.progress).toEqual([
      { percent: 33.33, message: 'a.csv', data: { imported: ['a.csv'] } },
      { percent: 66.66, message: 'b.csv', data: { imported: ['a.csv', 'b.csv'] } },
      { percent: 100, message: 'c.csv', data: { imported: ['a.csv', 'b.csv', 'c.csv'] } },
    ]);
    expect(await fake.driver.getJob('default', id)).toMatchObject({
      status: 'completed',
      progress: 100,
      progressMessage: 'c.csv',
      progressData: { imported: ['a.csv', 'b.csv', 'c.csv'] },
    });
    await ContextJob.dispatch(null);
    expect((await fake.runNext())?.progress).toEqual([{ percent: 50, message: 'half way', data: null }]);
  });

  it('rethrows the error of a failing job by default, after marking it failed and calling failed()', async () => {
    const id = await BrokenJob.dispatch({ reason: 'boom' });
    await expect(fake.runNext()).rejects.toThrow('boom');
    expect(BrokenJob.failures).toEqual(['boom']);
    expect(await fake.driver.getJob('default', id)).toMatchObject({
      status: 'failed',
      error: { message: 'boom' },
    });
    expect(await fake.runNext()).toBeUndefined();
  });

  it('returns the error instead when asked to record job errors', async () => {
    await BrokenJob.dispatch({ reason: 'kept' });
    const outcome = await fake.runNext({ jobErrors: 'record' });
    expect(outcome?.status).toBe('failed');
    expect(outcome?.status === 'failed' && outcome.error.message).toBe('kept');

    const recording = new QueueFake({ jobs: [BrokenJob], jobErrors: 'record' });
    await recording.dispatcher.dispatch(BrokenJob, { reason: 'also kept' });
    expect(await recording.runAll()).toMatchObject([{ status: 'failed', job: { name: 'BrokenJob' } }]);
  });

  it('fails a job whose constructor throws, as a worker does, instead of leaving it running', async () => {
    class UnbuildableJob extends Job<{ n: number }> {
      static override readonly jobName = 'UnbuildableJob';
      constructor() {
        super();
        throw new Error('no config for UnbuildableJob');
      }
      async handle(): Promise<void> {}
    }
    fake.register(UnbuildableJob);
    const id = await UnbuildableJob.dispatch({ n: 1 });
    const outcome = await fake.runNext({ jobErrors: 'record' });
    expect(outcome?.status === 'failed' && outcome.error.message).toBe('no config for UnbuildableJob');
    expect(await fake.driver.getJob('default', id)).toMatchObject({
      status: 'failed',
      error: { message: 'no config for UnbuildableJob' },
    });
  });

  it('refuses to run a job it was not given, saying how to register it', async () => {
    const bare = QueueFake.install();
    try {
      await EmailJob.dispatch({ to: 'a@example.com', subject: 'x' });
      const error = await bare.runNext().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(JobNotRegisteredError);
      expect((error as Error).message).toMatch(/QueueFake cannot run EmailJob.*fake\.register\(EmailJob\)/);
      bare.register(EmailJob);
      expect(await bare.runNext()).toBeUndefined(); // the refused job was marked failed
    } finally {
      bare.restore();
    }
  });

  it('runs a delayed job only once it is due, and never a held one', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    await EmailJob.dispatch({ to: 'later@example.com', subject: 'x' }, { delay: 30 });
    await EmailJob.dispatch({ to: 'held@example.com', subject: 'x' }, { hold: true });
    expect(fake.dispatchedJobs(EmailJob)[0]).toMatchObject({
      delay: 30,
      runAt: Date.parse('2030-01-01T00:00:30Z'),
    });
    expect(await fake.runNext()).toBeUndefined();
    vi.advanceTimersByTime(30_000);
    expect(await fake.runNext()).toMatchObject({ result: { sentTo: 'later@example.com' } });
    expect(await fake.runNext()).toBeUndefined();
  });
});

describe('QueueFake.runAll', () => {
  it('runs jobs until none is left, including those the jobs dispatch', async () => {
    await ReadingJob.dispatch({ deviceId: 'd1', value: 150 });
    const outcomes = await fake.runAll();
    expect(outcomes.map((outcome) => outcome.job.name)).toEqual(['readings.process', 'EmailJob']);
    fake.assertDispatched(EmailJob, (email) => email.subject === 'd1 is hot');
    expect(await fake.runAll()).toEqual([]);
  });

  it('stops with QueueFakeLimitError when jobs keep dispatching jobs', async () => {
    await EchoForeverJob.dispatch({ n: 0 });
    await expect(fake.runAll({ maxJobs: 25 })).rejects.toThrow(QueueFakeLimitError);
    expect(fake.countOf(EchoForeverJob)).toBe(26);
  });
});

function catchError(run: () => void): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}
