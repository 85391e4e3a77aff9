import { describe, expect, it } from 'vitest';
import { MAX_AHEAD_FACTOR, ReserveAhead } from '../../../core/queue/reserve_ahead.js';

/** A ReserveAhead for `concurrency` slots that has timed one reserve call and one job. */
function measured(concurrency: number, reserveMs: number, jobMs: number): ReserveAhead {
  const ahead = new ReserveAhead(concurrency);
  ahead.reserveAnswered(reserveMs);
  ahead.jobFinished(jobMs);
  return ahead;
}

describe('ReserveAhead', () => {
  it('holds one job per slot ahead until both a job and a reserve call have been timed', () => {
    const ahead = new ReserveAhead(10);
    expect(ahead.depth).toBe(10);
    ahead.jobFinished(5);
    expect(ahead.depth).toBe(10);
  });

  it('holds up to three jobs per slot ahead when jobs are much shorter than a reserve call', () => {
    const ahead = measured(50, 2, 0.01);
    expect(ahead.depth).toBe(50 * MAX_AHEAD_FACTOR);
  });

  it('holds the jobs all slots finish in two reserve round trips', () => {
    const ahead = measured(50, 1, 10);
    expect(ahead.depth).toBe(10); // 50 slots x 2 ms / 10 ms
  });

  it('holds at most one job ahead when jobs take far longer than a reserve call', () => {
    const ahead = measured(8, 1, 10_000);
    expect(ahead.depth).toBe(1);
  });

  it('follows a change in job length gradually, not on one outlier', () => {
    const ahead = measured(10, 1, 100);
    expect(ahead.depth).toBe(1);
    ahead.jobFinished(0.1);
    expect(ahead.depth).toBe(1); // one short job barely moves the average
    for (let i = 0; i < 200; i++) ahead.jobFinished(0.1);
    expect(ahead.depth).toBe(10 * MAX_AHEAD_FACTOR);
  });
});
