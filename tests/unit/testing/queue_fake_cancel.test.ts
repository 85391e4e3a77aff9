/**
 * A job cancelled while QueueFake runs it ends `cancelled`, as on a worker: its signal
 * aborts with `E_JOB_CANCELLED`, `failed()` does not run, and the outcome says `cancelled`.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Job, JobCancelledError, type JobContext, QueueFake } from '../../../core/index.js';

let fake: QueueFake;
/** What the jobs below saw, in order, for the assertions of one test. */
const seen: string[] = [];
/** Resolves when a job below has started, so the test can cancel it while it runs. */
let started: Gate;
/** Ends the wait of {@link SignalIgnoringJob}. */
let release: Gate;

class SelfCancellingJob extends Job<null> {
  async handle(_payload: null, { queue, jobId }: JobContext) {
    await fake.driver.cancel(queue, jobId);
    throw new Error('stopped');
  }
  override failed(error: Error) {
    seen.push(`failed: ${error.message}`);
  }
}

class SignalWaitingJob extends Job<null> {
  async handle(_payload: null, { signal }: JobContext) {
    started.resolve();
    await once(signal, 'abort');
    seen.push(`aborted: ${(signal.reason as JobCancelledError).code}`);
    throw signal.reason;
  }
  override failed(error: Error) {
    seen.push(`failed: ${error.message}`);
  }
}

class SignalIgnoringJob extends Job<null> {
  async handle() {
    started.resolve();
    await release.promise;
    seen.push('finished after all');
  }
  override failed(error: Error) {
    seen.push(`failed: ${error.message}`);
  }
}

function install(jobErrors: 'throw' | 'record'): void {
  seen.length = 0;
  started = gate();
  release = gate();
  fake = QueueFake.install({ jobs: [SelfCancellingJob, SignalWaitingJob, SignalIgnoringJob], jobErrors });
}

afterEach(() => {
  vi.useRealTimers();
  release.resolve();
  fake.restore();
});

describe('QueueFake.runNext with a cancel', () => {
  it('ends a job that throws after its cancel was requested cancelled, without failed()', async () => {
    install('record');
    const id = await SelfCancellingJob.dispatch(null);
    const outcome = await fake.runNext();
    expect((await fake.driver.getJob('default', id))?.status).toBe('cancelled');
    expect(seen).toEqual([]);
    expect(outcome).toMatchObject({ status: 'cancelled', job: { id }, error: { message: 'stopped' } });
  });

  it('aborts the signal of a job cancelled from outside while it runs, and returns it cancelled', async () => {
    install('throw');
    const id = await SignalWaitingJob.dispatch(null);
    const running = fake.runNext();
    await started.promise;
    expect(await fake.driver.cancel('default', id)).toBe('running');
    const outcome = await running;
    expect(outcome).toMatchObject({ status: 'cancelled', job: { id } });
    expect(outcome?.status === 'cancelled' && outcome.error).toBeInstanceOf(JobCancelledError);
    expect(seen).toEqual(['aborted: E_JOB_CANCELLED']);
    expect((await fake.driver.getJob('default', id))?.status).toBe('cancelled');
  }, 5_000);

  it('stops waiting for a cancelled job that ignores its signal, as a worker does', async () => {
    install('throw');
    const id = await SignalIgnoringJob.dispatch(null);
    const running = fake.runNext();
    await started.promise;
    await fake.driver.cancel('default', id);
    expect(await running).toMatchObject({ status: 'cancelled', error: { code: 'E_JOB_CANCELLED' } });
    expect((await fake.driver.getJob('default', id))?.status).toBe('cancelled');
    release.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['finished after all']);
    expect(await fake.runNext()).toBeUndefined();
  }, 5_000);
});

describe('QueueFake.runNext with a cancel under fake timers', () => {
  // the memory driver delivers a cancel on setImmediate, as Redis would on a later tick: with
  // every timer faked it waits for the test to move the timers, and runNext with it

  it('aborts the running job when only Date is faked, as docs/testing.md advises', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2030-01-01T00:00:00Z') });
    install('throw');
    const id = await SignalWaitingJob.dispatch(null);
    const running = fake.runNext();
    await started.promise;
    await fake.driver.cancel('default', id);
    expect(await running).toMatchObject({ status: 'cancelled', error: { code: 'E_JOB_CANCELLED' } });
  }, 5_000);

  it('aborts it with every timer faked once the test advances the timers after the cancel', async () => {
    vi.useFakeTimers();
    install('throw');
    const id = await SignalWaitingJob.dispatch(null);
    const running = fake.runNext();
    await started.promise;
    await fake.driver.cancel('default', id);
    await vi.advanceTimersByTimeAsync(0);
    expect(await running).toMatchObject({ status: 'cancelled', error: { code: 'E_JOB_CANCELLED' } });
  }, 5_000);
});

interface Gate {
  promise: Promise<void>;
  resolve(): void;
}

/** A promise and the function that resolves it (`Promise.withResolvers` is Node 22+). */
function gate(): Gate {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
