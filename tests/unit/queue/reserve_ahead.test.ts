import { describe, expect, it } from 'vitest';
import { MAX_AHEAD_FACTOR, ReserveAhead } from '../../../core/queue/reserve_ahead.js';

describe('ReserveAhead', () => {
  it('holds one job per slot ahead until both a job and a reserve call have been timed', () => {
    const ahead = new ReserveAhead(10);
    expect(ahead.depth).toBe(10);
    ahead.jobFinished(5);
    expect(ahead.depth).toBe(10);
  });

  it('holds up to three jobs per slot ahead when jobs are much shorter than a reserve call', () => {
    const ahead = new ReserveAhead(50);
    ahead.reserveAnswered(2);
    ahead.jobFinished(0.01);
    expect(ahead.depth).toBe(50 * MAX_AHEAD_FACTOR);
  });

  it('holds the jobs all slots finish in two reserve round trips', () => {
    const ahead = new ReserveAhead(50);
    ahead.reserveAnswered(1);
    ahead.jobFinished(10);
    expect(ahead.depth).toBe(10); // 50 slots x 2 ms / 10 ms
  });

  it('holds at most one job ahead when jobs take far longer than a reserve call', () => {
    const ahead = new ReserveAhead(8);
    ahead.reserveAnswered(1);
    ahead.jobFinished(10_000);
    expect(ahead.depth).toBe(1);
  });

  it('follows a change in job length gradually, not on one outlier', () => {
    const ahead = new ReserveAhead(10);
    ahead.reserveAnswered(1);
    ahead.jobFinished(100);
    expect(ahead.depth).toBe(1);
    ahead.jobFinished(0.1);
    expect(ahead.depth).toBe(1); // one short job barely moves the average
    for (let i = 0; i < 200; i++) ahead.jobFinished(0.1);
    expect(ahead.depth).toBe(10 * MAX_AHEAD_FACTOR);
  });
});
