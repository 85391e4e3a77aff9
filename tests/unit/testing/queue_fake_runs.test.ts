/**
 * How `QueueFake.runNext()` ends a run when the test does more than run one job at a time:
 * moves its clock on while a job runs, cancels or runs again before a run has reserved its
 * job, or reads the outcome of a job that returned nothing or changed what it returned.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Job, type JobContext, QueueFake } from '../../../core/index.js';
import { MAX_ERROR_CODE_LENGTH, MAX_ERROR_MESSAGE_LENGTH } from '../../../core/queue/record_failure.js';

const runs: string[] = [];
const gates: (() => void)[] = [];
const openGates = () => {
  for (const open of gates.splice(0)) open();
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

class GatedJob extends Job<{ n: number }> {
  static override readonly queue = 'fake-runs';
  async handle({ n }: { n: number }, { attempt }: JobContext) {
    runs.push(`gated ${n} attempt ${attempt}`);
    await new Promise<void>((resolve) => gates.push(resolve));
  }
}

class QuickJob extends Job<{ n: number }> {
  static override readonly queue = 'fake-runs';
  async handle({ n }: { n: number }) {
    runs.push(`quick ${n}`);
  }
}

class SilentJob extends Job<null> {
  static override readonly queue = 'fake-runs';
  async handle(): Promise<void> {}
}

class ChangingJob extends Job<null, { items: number[] }> {
  static override readonly queue = 'fake-runs';
  async handle() {
    const result = { items: [1] };
    // the job goes on with the object after returning it (a buffer it keeps filling, say)
    setImmediate(() => result.items.push(2));
    return result;
  }
}

class HugeErrorJob extends Job<{ n: number }> {
  static override readonly queue = 'fake-runs';
  async handle({ n }: { n: number }): Promise<void> {
    throw Object.assign(new Error('m'.repeat(n)), { code: `E_${'X'.repeat(n)}` });
  }
}

let fake: QueueFake | undefined;

afterEach(() => {
  openGates();
  runs.length = 0;
  fake?.restore();
  fake = undefined;
});

describe('QueueFake.runNext with a job still running', () => {
  it('never hands the running job to another runNext, however far the test moves its clock', async () => {
    let clock = 1_000_000;
    fake = QueueFake.install({ jobs: [GatedJob, QuickJob], driver: { now: () => clock } });
    await GatedJob.dispatch({ n: 1 });
    const first = fake.runNext();
    await tick();
    clock += 30 * 24 * 60 * 60 * 1000; // a month on, to make a delayed job due, say
    await QuickJob.dispatch({ n: 2 });
    const second = fake.runNext();
    await tick();
    openGates();
    const outcomes = await Promise.all([first, second]);
    expect(runs).toEqual(['gated 1 attempt 1', 'quick 2']);
    expect(outcomes.map((outcome) => outcome?.status)).toEqual(['completed', 'completed']);
  });

  it('reports a run whose job was taken from it as failed with E_LEASE_LOST, not completed', async () => {
    let clock = 1_000_000;
    fake = QueueFake.install({
      jobs: [GatedJob, QuickJob],
      driver: { now: () => clock },
      jobErrors: 'record',
    });
    const id = await GatedJob.dispatch({ n: 1 });
    const first = fake.runNext();
    await tick();
    clock += 2 ** 52; // past even the fake's lease: the next reserve takes the job back
    await QuickJob.dispatch({ n: 2 });
    const second = fake.runNext();
    await tick();
    openGates();
    const lost = await first;
    expect(lost).toMatchObject({ status: 'failed', error: { code: 'E_LEASE_LOST' } });
    openGates();
    expect(await second).toMatchObject({ status: 'completed', job: { id } });
    expect(runs).toEqual(['gated 1 attempt 1', 'gated 1 attempt 1']);
    expect((await fake.driver.getJob('fake-runs', id))?.status).toBe('completed');
  });
});

describe('QueueFake.runNext racing the test', () => {
  it('resolves undefined when the ready job is cancelled before its reserve', async () => {
    fake = QueueFake.install({ jobs: [QuickJob] });
    const id = await QuickJob.dispatch({ n: 1 });
    const running = fake.runNext();
    await fake.driver.cancel('fake-runs', id);
    await expect(running).resolves.toBeUndefined();
    expect(runs).toEqual([]);
  });

  it('runs the one ready job once when two runNext calls start together; the other resolves undefined', async () => {
    fake = QueueFake.install({ jobs: [QuickJob] });
    await QuickJob.dispatch({ n: 1 });
    const outcomes = await Promise.all([fake.runNext(), fake.runNext()]);
    expect(outcomes.map((outcome) => outcome?.status ?? 'none').sort()).toEqual(['completed', 'none']);
    expect(runs).toEqual(['quick 1']);
  });
});

describe('QueueFake.runNext outcomes', () => {
  it('gives the result as stored: null for a job that returns nothing', async () => {
    fake = QueueFake.install({ jobs: [SilentJob] });
    const id = await SilentJob.dispatch(null);
    const outcome = await fake.runNext();
    expect(outcome).toMatchObject({ status: 'completed', result: null });
    expect((await fake.driver.getJob('fake-runs', id))?.result).toBeNull();
  });

  it('gives the result as stored, not the object the job goes on changing', async () => {
    fake = QueueFake.install({ jobs: [ChangingJob] });
    const id = await ChangingJob.dispatch(null);
    const outcome = await fake.runNext();
    await tick();
    expect(outcome).toMatchObject({ status: 'completed', result: { items: [1] } });
    expect((await fake.driver.getJob('fake-runs', id))?.result).toEqual({ items: [1] });
  });

  it('stores a failure as a worker does: the stack kept, the message and code cut to their bounds', async () => {
    fake = QueueFake.install({ jobs: [HugeErrorJob], jobErrors: 'record' });
    const short = await HugeErrorJob.dispatch({ n: 5 }, { maxTries: 1 });
    const long = await HugeErrorJob.dispatch({ n: 10_000 }, { maxTries: 1 });
    await fake.runAll();
    const shortError = (await fake.driver.getJob('fake-runs', short))?.error;
    expect(shortError).toMatchObject({ message: 'mmmmm', code: 'E_XXXXX' });
    expect(shortError?.stack).toContain('Error: mmmmm');
    const [failed] = await fake.driver.listFailed('fake-runs', 0, 1);
    expect(failed?.error?.stack).toContain('Error: mmmmm');
    const longError = (await fake.driver.getJob('fake-runs', long))?.error;
    expect(longError?.message).toBe(
      `${'m'.repeat(MAX_ERROR_MESSAGE_LENGTH)}… [${10_000 - MAX_ERROR_MESSAGE_LENGTH} more characters cut]`,
    );
    expect(longError?.code?.startsWith(`E_${'X'.repeat(MAX_ERROR_CODE_LENGTH - 2)}`)).toBe(true);
    expect(longError?.code?.length).toBeLessThan(MAX_ERROR_CODE_LENGTH + 40);
  });

  it('records a job it was not given as a worker does, with E_JOB_NOT_REGISTERED', async () => {
    fake = QueueFake.install();
    const id = await QuickJob.dispatch({ n: 1 });
    await expect(fake.runNext()).rejects.toMatchObject({ code: 'E_JOB_NOT_REGISTERED' });
    expect(await fake.driver.getJob('fake-runs', id)).toMatchObject({
      status: 'failed',
      error: { code: 'E_JOB_NOT_REGISTERED', message: 'QuickJob is not registered with the QueueFake' },
    });
  });
});
