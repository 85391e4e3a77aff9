/**
 * The cancels a worker remembers for jobs it did not hold yet: bounded in number and in time,
 * each taken once.
 */
import { describe, expect, it } from 'vitest';
import { HEARD_CANCEL_MS, HeardCancels, MAX_HEARD_CANCELS } from '../../../core/queue/heard_cancels.js';

describe('HeardCancels', () => {
  it('tells a cancel heard for the job of that queue once, and none for another queue', () => {
    const heard = new HeardCancels(() => 0);
    heard.remember('emails', 'a');
    expect(heard.take('reports', 'a')).toBe(false);
    expect(heard.take('emails', 'a')).toBe(true);
    expect(heard.take('emails', 'a')).toBe(false);
  });

  it(`forgets a cancel ${HEARD_CANCEL_MS / 1000} s after it was heard`, () => {
    let now = 0;
    const heard = new HeardCancels(() => now);
    heard.remember('q', 'old');
    now = 1;
    heard.remember('q', 'newer');
    now = HEARD_CANCEL_MS + 0.5;
    expect(heard.take('q', 'old')).toBe(false);
    expect(heard.take('q', 'newer')).toBe(true);
  });

  it(`keeps the ${MAX_HEARD_CANCELS} heard last, a cancel heard again counting as new`, () => {
    const heard = new HeardCancels(() => 0);
    heard.remember('q', 'first');
    heard.remember('q', 'second');
    heard.remember('q', 'first'); // heard again: now the newest
    for (let i = 0; i < MAX_HEARD_CANCELS - 1; i++) heard.remember('q', `bulk-${i}`);
    expect(heard.size).toBe(MAX_HEARD_CANCELS);
    expect(heard.take('q', 'second')).toBe(false);
    expect(heard.take('q', 'first')).toBe(true);
  });

  it('sifts out of a reserve the jobs a cancel was heard for, in order, each given to the callback once', () => {
    const heard = new HeardCancels(() => 0);
    const jobs = [
      { queue: 'q', id: 'a' },
      { queue: 'q', id: 'b' },
      { queue: 'other', id: 'c' },
      { queue: 'q', id: 'c' },
    ];
    expect(heard.sift(jobs, () => expect.fail('nothing was heard'))).toBe(jobs);
    heard.remember('q', 'b');
    heard.remember('q', 'c');
    const cancelled: unknown[] = [];
    expect(heard.sift(jobs, (job) => cancelled.push(job))).toEqual([jobs[0], jobs[2]]);
    expect(cancelled).toEqual([jobs[1], jobs[3]]);
    expect(heard.size).toBe(0);
  });
});
