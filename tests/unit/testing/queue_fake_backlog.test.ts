/**
 * QueueFake behind jobs that cannot run yet (held, delayed, failed and kept): it runs the jobs
 * after them oldest first without looking every waiting job up again for each job it runs,
 * and runs the waiting ones in their place once they can run.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Job, QueueFake, type RunOutcome } from '../../../core/index.js';

class NoteJob extends Job<{ note: string }> {
  static override readonly jobName = 'backlog.NoteJob';
  static override readonly queue = 'backlog-notes';
  async handle() {}
}

class AlertJob extends Job<{ note: string }> {
  static override readonly jobName = 'backlog.AlertJob';
  static override readonly queue = 'backlog-alerts';
  async handle() {}
}

class FailingJob extends Job<{ note: string }> {
  static override readonly jobName = 'backlog.FailingJob';
  static override readonly queue = 'backlog-failing';
  async handle(): Promise<void> {
    throw new Error('kept as failed');
  }
}

let fake: QueueFake | undefined;

afterEach(() => {
  vi.restoreAllMocks();
  fake?.restore();
  fake = undefined;
});

const notes = (outcomes: readonly (RunOutcome | undefined)[]) =>
  outcomes.map((outcome) => (outcome?.job.payload as { note: string } | undefined)?.note);

describe('QueueFake behind jobs that cannot run yet', () => {
  it('runs 2000 jobs behind a held one with a bounded number of lookups per job, not one per job before it', async () => {
    const jobs = 2000;
    fake = QueueFake.install({ jobs: [NoteJob, AlertJob] });
    const heldId = await AlertJob.dispatch({ note: 'held' }, { hold: true });
    for (let n = 0; n < jobs; n++) await NoteJob.dispatch({ note: `n${n}` });
    const getJob = vi.spyOn(fake.driver, 'getJob');

    const outcomes = await fake.runAll({ maxJobs: jobs + 1 });

    expect(outcomes).toHaveLength(jobs);
    expect(notes(outcomes.slice(0, 3))).toEqual(['n0', 'n1', 'n2']);
    // about 3 a job (the held one, the job run last, the next); rescanning from the held job
    // every time made it about jobs² / 2
    expect(getJob.mock.calls.length).toBeLessThan(5 * jobs);
    expect((await fake.driver.getJob('backlog-alerts', heldId))?.status).toBe('pending');
  });

  it('serves the queue of the oldest ready job once a held one is released and a delayed one comes due', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    fake = QueueFake.install({
      jobs: [NoteJob, AlertJob, FailingJob],
      jobErrors: 'record',
      driver: { now: () => clock },
    });
    const heldId = await AlertJob.dispatch({ note: 'held' }, { hold: true });
    await NoteJob.dispatch({ note: 'delayed' }, { delay: 30 });
    await FailingJob.dispatch({ note: 'failing' });
    await NoteJob.dispatch({ note: 'n1' });
    await AlertJob.dispatch({ note: 'a1' });
    await AlertJob.dispatch({ note: 'a2 urgent' }, { priority: -1 });
    await NoteJob.dispatch({ note: 'n2' });
    await AlertJob.dispatch({ note: 'a3' });

    const before = [await fake.runNext(), await fake.runNext(), await fake.runNext()];
    expect(notes(before)).toEqual(['failing', 'n1', 'a2 urgent']);
    expect(before[0]?.status).toBe('failed');

    await fake.driver.releaseHeld('backlog-alerts', heldId);
    clock += 30_000;
    const after = await fake.runAll();

    // the released and the due job are the oldest ready, so their queues are served first, and
    // within a queue the driver's order holds: both joined the back of their queue when they
    // became ready, so 'a1' and 'a3' run before 'held', and 'n2' before 'delayed'
    expect(notes(after)).toEqual(['a1', 'a3', 'held', 'n2', 'delayed']);
    expect(after.every((outcome) => outcome.status === 'completed')).toBe(true);
  });
});
