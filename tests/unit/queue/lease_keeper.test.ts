/**
 * The lease keeper's bound on the leases of the jobs a worker holds ahead: kept through renewals
 * that hang or fail, renewals one at a time, and a renewal sent at once for jobs reserved after
 * the one in flight. The driver is a stand-in whose `extend` answers when the test says.
 */
import { describe, expect, it } from 'vitest';
import type { LeaseState, QueueDriver, ReservedJob } from '../../../core/queue/driver.js';
import type { RunningJob } from '../../../core/queue/job_runner.js';
import { LeaseKeeper } from '../../../core/queue/lease_keeper.js';
import { silentLogger } from '../../../core/logger.js';
import { ChurnMap } from '../../../core/support/churn_map.js';

const LEASE = 30_000;
const held = { id: 'j1', queue: 'q', token: 't1' } as unknown as ReservedJob;

/** A keeper holding one job ahead, whose renewals wait for the test to answer or fail them. */
function keeper() {
  const calls: { answer: (states: LeaseState[]) => void; fail: (error: Error) => void }[] = [];
  const driver = {
    extend: () =>
      new Promise<LeaseState[]>((answer, fail) => {
        calls.push({ answer, fail });
      }),
  } as unknown as QueueDriver;
  const leases = new LeaseKeeper(driver, silentLogger(), LEASE, {
    running: new ChurnMap<string, RunningJob>(),
    ready: [held],
    unreleased: [],
    releaseAgain: () => {},
    aheadLeaseEnded: () => {},
    acknowledging: () => [],
  });
  return { leases, calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('LeaseKeeper', () => {
  it('lets held jobs start while their leases were confirmed within two thirds of the lease, not after', () => {
    const { leases } = keeper();
    const t0 = performance.now();
    leases.reserved(t0);
    expect(leases.mayStart(t0 + LEASE / 2, () => {})).toBe(true);
    expect(leases.mayStart(t0 + LEASE, () => {})).toBe(false);
  });

  it('renews one at a time: one asked for while another hangs follows it, and the bound holds meanwhile', async () => {
    const { leases, calls } = keeper();
    const t0 = performance.now();
    leases.reserved(t0);
    void leases.renew();
    void leases.renew(); // the timer, a third of the lease on
    expect(calls).toHaveLength(1);
    expect(leases.mayStart(t0 + 2 * LEASE, () => {})).toBe(false);
    calls[0]!.fail(new Error('connection lost'));
    await settle();
    expect(calls).toHaveLength(2); // the one asked for meanwhile
    expect(leases.mayStart(t0 + 2 * LEASE, () => {})).toBe(false);
  });

  it('keeps the bound of the last renewal answered when a later one fails', async () => {
    const { leases, calls } = keeper();
    const t0 = performance.now();
    leases.reserved(t0);
    void leases.renew();
    calls[0]!.answer(['ok']);
    await settle();
    const answeredAt = performance.now();
    void leases.renew();
    calls[1]!.fail(new Error('connection lost'));
    await settle();
    expect(leases.mayStart(answeredAt + LEASE / 2, () => {})).toBe(true);
    expect(leases.mayStart(t0 + 2 * LEASE, () => {})).toBe(false);
  });

  it('sends a renewal at once for jobs reserved after the one in flight, when they wait on it', async () => {
    const { leases, calls } = keeper();
    const t0 = performance.now();
    void leases.renew(); // sent before the reply of a reserve read late (after a long block)
    leases.reserved(t0 - LEASE);
    let retried = 0;
    const retry = (): void => {
      retried++;
      leases.mayStart(performance.now(), retry);
    };
    expect(leases.mayStart(performance.now(), retry)).toBe(false);
    calls[0]!.answer(['ok']);
    await settle();
    expect(retried).toBe(1);
    expect(calls).toHaveLength(2); // not the next timer tick, a third of the lease later
    calls[1]!.answer(['ok']);
    await settle();
    expect(retried).toBe(2);
    expect(leases.mayStart(performance.now(), () => {})).toBe(true);
  });
});
