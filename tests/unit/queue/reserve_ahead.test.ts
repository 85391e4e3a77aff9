import { describe, expect, it } from 'vitest';
import { LONG_JOB_ROUND_TRIPS, MAX_AHEAD_FACTOR, ReserveAhead } from '../../../core/queue/reserve_ahead.js';

/** A ReserveAhead for `concurrency` slots that has timed one reserve call and one job. */
function measured(concurrency: number, reserveMs: number, jobMs: number): ReserveAhead {
  const ahead = new ReserveAhead(concurrency);
  ahead.reserveAnswered(reserveMs);
  ahead.jobFinished(jobMs);
  return ahead;
}

describe('ReserveAhead', () => {
  it('holds nothing ahead until both a job and a reserve call have been timed', () => {
    // a worker that starts first must not take jobs that may run for minutes from the others
    const ahead = new ReserveAhead(10);
    expect(ahead.depth).toBe(0);
    ahead.reserveAnswered(1);
    expect(ahead.depth).toBe(0);
    ahead.jobFinished(0.01);
    expect(ahead.depth).toBe(10 * MAX_AHEAD_FACTOR);
    // and in the other order: a job timed, no reserve call yet
    const jobFirst = new ReserveAhead(10);
    jobFirst.jobFinished(0.01);
    expect(jobFirst.depth).toBe(0);
    jobFirst.reserveAnswered(1);
    expect(jobFirst.depth).toBe(10 * MAX_AHEAD_FACTOR);
  });

  it('holds up to three jobs per slot ahead when jobs are much shorter than a reserve call', () => {
    const ahead = measured(50, 2, 0.01);
    expect(ahead.depth).toBe(50 * MAX_AHEAD_FACTOR);
  });

  it('holds the jobs all slots finish in two reserve round trips', () => {
    const ahead = measured(50, 1, 10);
    expect(ahead.depth).toBe(10); // 50 slots x 2 ms / 10 ms
  });

  it('holds nothing ahead when jobs take far longer than a reserve call, and one job just below that', () => {
    expect(measured(8, 1, 10_000).depth).toBe(0);
    expect(measured(8, 1, LONG_JOB_ROUND_TRIPS + 1).depth).toBe(0);
    // 8 slots x 2 ms / 100 ms = 0.16 jobs in two round trips: one, rounded up
    expect(measured(8, 1, LONG_JOB_ROUND_TRIPS).depth).toBe(1);
  });

  it('holds the fixed prefetch whatever the timings, none included', () => {
    const none = new ReserveAhead(10, 0);
    none.reserveAnswered(2);
    none.jobFinished(0.01);
    expect(none.depth).toBe(0);
    const two = new ReserveAhead(10, 2);
    expect(two.depth).toBe(2);
    two.reserveAnswered(1);
    two.jobFinished(10_000);
    expect(two.depth).toBe(2);
  });

  it('follows a change in job length gradually, not on one outlier', () => {
    const ahead = measured(10, 1, 50);
    expect(ahead.depth).toBe(1);
    ahead.jobFinished(0.1);
    expect(ahead.depth).toBe(1); // one short job barely moves the average
    for (let i = 0; i < 200; i++) ahead.jobFinished(0.1);
    expect(ahead.depth).toBe(10 * MAX_AHEAD_FACTOR);
  });

  it('calls jobs long, to hand back what it holds, only well past the point where it holds none', () => {
    expect(new ReserveAhead(4).jobsLong).toBe(false); // nothing timed
    expect(measured(4, 1, 2 * LONG_JOB_ROUND_TRIPS + 1).jobsLong).toBe(true);
    // past the point of holding none, but not twice past it: no hand-back on every crossing
    const near = measured(4, 1, LONG_JOB_ROUND_TRIPS + 1);
    expect(near.depth).toBe(0);
    expect(near.jobsLong).toBe(false);
    // a fixed prefetch is kept whatever the jobs take
    const fixed = new ReserveAhead(4, 2);
    fixed.reserveAnswered(1);
    fixed.jobFinished(10_000);
    expect(fixed.jobsLong).toBe(false);
  });

  it('stops holding jobs ahead as soon as one job takes far longer than the rest', () => {
    // short jobs, then one of 10 s: the average jumps past 100 round trips at once, so a worker
    // whose jobs turn long stops reserving ahead of them after the first one
    const ahead = measured(10, 1, 0.1);
    expect(ahead.depth).toBe(10 * MAX_AHEAD_FACTOR);
    ahead.jobFinished(10_000);
    expect(ahead.depth).toBe(0);
  });
});
