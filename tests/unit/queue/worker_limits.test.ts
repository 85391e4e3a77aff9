/**
 * A worker's --max-time and --memory limits: when each is past, how often the RSS is read, and
 * how long an idle wait may last.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkerLimits } from '../../../core/queue/worker_limits.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('WorkerLimits', () => {
  it('sets nothing and is never past without limits', () => {
    const limits = new WorkerLimits(undefined, undefined);
    limits.start(0);
    expect(limits.set).toBe(false);
    expect(limits.exceeded(Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(limits.waitBound(3000, 1e12)).toBe(3000);
  });

  it('is past --max-time once that many seconds have gone since the start, not before', () => {
    const limits = new WorkerLimits(2, undefined);
    limits.start(1000);
    expect(limits.set).toBe(true);
    expect(limits.startedAt).toBe(1000);
    expect(limits.exceeded(2999)).toBeUndefined();
    expect(limits.exceeded(3000)).toBe('max-time');
  });

  it('ends an idle wait at --max-time, but waits at least 10 ms', () => {
    const limits = new WorkerLimits(2, undefined);
    limits.start(1000);
    expect(limits.waitBound(3000, 1500)).toBe(1500);
    expect(limits.waitBound(500, 1500)).toBe(500);
    expect(limits.waitBound(3000, 5000)).toBe(10);
  });

  it('is past --memory when the RSS reaches it, reading the RSS at most every 100 ms', () => {
    const rss = vi.spyOn(process.memoryUsage, 'rss').mockReturnValue(100 * 1048576);
    const limits = new WorkerLimits(undefined, 100);
    limits.start(0);
    expect(limits.exceeded(1000)).toBe('memory');
    rss.mockReturnValue(99 * 1048576);
    expect(limits.exceeded(1050)).toBeUndefined();
    expect(rss).toHaveBeenCalledTimes(1); // within 100 ms of the last read: not read again
    expect(limits.exceeded(1100)).toBeUndefined();
    expect(rss).toHaveBeenCalledTimes(2);
  });

  it('reports --max-time before --memory when both are past', () => {
    vi.spyOn(process.memoryUsage, 'rss').mockReturnValue(1e12);
    const limits = new WorkerLimits(1, 1);
    limits.start(0);
    expect(limits.exceeded(1000)).toBe('max-time');
  });
});
