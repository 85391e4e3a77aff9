/**
 * The contract every QueueDriver keeps (see core/queue/driver.ts). Run against each
 * driver by its own test file, on a fresh queue per test.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_STALLS,
  type NewJob,
  type QueueDriver,
  type RetentionSettings,
} from '../../../core/queue/driver.js';
import { JobNotFoundError, JobStateError } from '../../../core/errors.js';
import { LATEST_DISPATCH_MS } from '../../../core/queue/dispatch_options.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';

export type DriverFactory = (
  retention?: Partial<RetentionSettings>,
  options?: { failedCount?: number },
) => QueueDriver;

const reserveOptions = { count: 10, leaseMs: 30_000, worker: 'w1', defaultMaxTries: 3 };

export function defineDriverContract(label: string, factory: DriverFactory): void {
  describe(`${label} driver contract`, () => {
    const drivers: QueueDriver[] = [];
    const make = (retention?: Partial<RetentionSettings>, options?: { failedCount?: number }) => {
      const driver = factory(retention, options);
      drivers.push(driver);
      return driver;
    };
    let driver: QueueDriver;
    let queue: string;
    const job = (id: string, extra: Partial<NewJob> = {}): NewJob => ({
      id,
      name: 'TestJob',
      queue,
      payload: JSON.stringify({ id }),
      maxTries: 0,
      priority: 0,
      ...extra,
    });

    beforeEach(() => {
      driver = make();
      queue = uniqueQueue(label);
    });
    afterAll(async () => {
      await Promise.all(drivers.map((d) => d.close()));
    });

    it('reserves by priority, lower first, FIFO among equal priorities', async () => {
      await driver.push([job('a'), job('b', { priority: 5 }), job('c', { priority: -5 }), job('d')]);
      const { jobs } = await driver.reserve(queue, reserveOptions);
      expect(jobs.map((j) => j.id)).toEqual(['c', 'a', 'd', 'b']);
      expect(jobs[0]).toMatchObject({ name: 'TestJob', queue, attempt: 1, payload: '{"id":"c"}' });
    });

    it('hands back every field of a reserved job intact, whatever its payload holds', async () => {
      const payload = '{"text":"line 1\\nline 2","raw":"a\nb","unicode":"é ✓"}';
      await driver.push([job('odd', { payload, maxTries: 7, priority: -3 })]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(reserved).toMatchObject({
        id: 'odd',
        name: 'TestJob',
        queue,
        attempt: 1,
        maxTries: 7,
        priority: -3,
      });
      expect(reserved!.payload).toBe(payload);
      expect(reserved!.createdAt).toBeGreaterThan(0);
    });

    it('refuses a second completion of the same attempt', async () => {
      await driver.push([job('a')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'a', queue, token: reserved!.token };
      expect(await driver.complete([{ lease, result: '1' }])).toEqual([true]);
      expect(await driver.complete([{ lease, result: '2' }])).toEqual([false]);
      expect(await driver.getJob(queue, 'a')).toMatchObject({ status: 'completed', result: 1 });
      expect(await driver.counts(queue)).toMatchObject({ running: 0, completed: 1 });
    });

    it('ends the lease at completion: nothing else of that attempt is accepted after it', async () => {
      await driver.push([job('a')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'a', queue, token: reserved!.token };
      const before = Date.now();
      // the same ack twice in one batch completes the job once
      expect(
        await driver.complete([
          { lease, result: 'null' },
          { lease, result: 'null' },
        ]),
      ).toEqual([true, false]);
      expect((await driver.fail({ lease, error: { message: 'late' }, retryInMs: 0 })).outcome).toBe('lost');
      expect(await driver.release([lease])).toEqual(['lost']);
      expect(await driver.extend([lease], 30_000)).toEqual(['lost']);
      expect(await driver.progress(lease, 50, null)).toBe(false);
      await expect(driver.cancel(queue, 'a')).rejects.toThrow(/it is completed/);
      await expect(driver.releaseHeld(queue, 'a')).rejects.toThrow(/it is completed/);
      const record = await driver.getJob(queue, 'a');
      expect(record).toMatchObject({
        status: 'completed',
        result: null,
        attempts: 1,
        worker: 'w1',
        error: null,
      });
      expect(record!.finishedAt).toBeGreaterThanOrEqual(before - 1000);
      expect((await driver.listJobs(queue, 'completed', 0, 10)).map((r) => r.status)).toEqual(['completed']);
      expect(await driver.counts(queue)).toMatchObject({ running: 0, completed: 1, waiting: 0 });
    });

    it('reserves no more than asked and leaves the rest waiting', async () => {
      await driver.push(['a', 'b', 'c'].map((id) => job(id)));
      const { jobs } = await driver.reserve(queue, { ...reserveOptions, count: 2 });
      expect(jobs).toHaveLength(2);
      expect(await driver.counts(queue)).toMatchObject({ waiting: 1, running: 2 });
    });

    it('answers the status each job was added in, a run-at time judged by its own clock', async () => {
      const now = Date.now();
      const outcomes = await driver.push([
        job('plain'),
        job('held', { hold: true }),
        job('later', { runAt: now + 60_000 }),
        job('past', { runAt: now - 1000 }),
      ]);
      expect(outcomes).toEqual(['queued', 'pending', 'delayed', 'queued']);
      for (const [id, status] of [
        ['plain', 'queued'],
        ['held', 'pending'],
        ['later', 'delayed'],
        ['past', 'queued'],
      ] as const) {
        expect((await driver.getJob(queue, id))?.status).toBe(status);
      }
    });

    it('leaves an existing job untouched when its id is pushed again', async () => {
      expect(await driver.push([job('same', { payload: '"first"' })])).toEqual(['queued']);
      expect(await driver.push([job('same', { payload: '"second"' }), job('other')])).toEqual([
        'duplicate',
        'queued',
      ]);
      expect((await driver.getJob(queue, 'same'))?.payload).toBe('first');
    });

    it('answers the same push sent again the status each job was added in, whatever its status now, and another push of the id duplicate', async () => {
      const now = Date.now();
      const first = [
        job('mine', { pushToken: 'push-1' }),
        job('held', { hold: true, pushToken: 'push-2' }),
        job('later', { runAt: now + 60_000, pushToken: 'push-3' }),
        job('generated', { pushToken: 'generated' }),
      ];
      expect(await driver.push(first)).toEqual(['queued', 'pending', 'delayed', 'queued']);
      await driver.reserve(queue, { ...reserveOptions, count: 1 }); // 'mine' is running now
      expect(await driver.push(first)).toEqual(['queued', 'pending', 'delayed', 'queued']);
      expect(
        await driver.push([
          job('mine', { pushToken: 'push-9' }),
          job('held'),
          job('later', { pushToken: 'later' }),
          job('generated', { pushToken: 'another' }),
        ]),
      ).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
      expect(await driver.counts(queue)).toMatchObject({ waiting: 1, running: 1, delayed: 1, pending: 1 });
      expect((await driver.getJob(queue, 'mine'))?.status).toBe('running');
    });

    it('refuses a job name or worker name it could not store, adding nothing', async () => {
      await expect(driver.push([job('fine'), job('bad', { name: 'Bad Name!' })])).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
      });
      expect(await driver.getJob(queue, 'fine')).toBeUndefined();
      const worker = {
        id: 'w{1}',
        host: 'h',
        pid: 1,
        queues: [queue],
        concurrency: 1,
        runningJobIds: [],
        startedAt: 1,
        heartbeatAt: 1,
      };
      await expect(driver.heartbeat(worker, 15_000)).rejects.toMatchObject({ code: 'E_INVALID_WORKER_NAME' });
      await expect(driver.removeWorker('w{1}')).rejects.toMatchObject({ code: 'E_INVALID_WORKER_NAME' });
    });

    it('takes a stopping worker off the list only while the heartbeat under its name is its own', async () => {
      const name = `twin-${queue}`;
      const beat = (pid: number, startedAt: number) => ({
        id: name,
        host: 'h',
        pid,
        queues: [queue],
        concurrency: 1,
        runningJobIds: [],
        startedAt,
        heartbeatAt: Date.now(),
      });
      const listed = async () => (await driver.workers()).filter((worker) => worker.id === name);
      // two workers share the name; the second beat last, so its heartbeat is the one stored
      await driver.heartbeat(beat(1, 1000), 15_000);
      await driver.heartbeat(beat(2, 2000), 15_000);
      // the first stops cleanly: the second is still running, and stays listed
      await driver.removeWorker(name, { host: 'h', pid: 1, startedAt: 1000 });
      expect((await listed()).map((worker) => worker.pid)).toEqual([2]);
      await driver.removeWorker(name, { host: 'h', pid: 2, startedAt: 1000 }); // another start
      expect(await listed()).toHaveLength(1);
      // the second stops: gone
      await driver.removeWorker(name, { host: 'h', pid: 2, startedAt: 2000 });
      expect(await listed()).toEqual([]);
      // without an owner, whoever's it is
      await driver.heartbeat(beat(3, 3000), 15_000);
      await driver.removeWorker(name);
      expect(await listed()).toEqual([]);
    });

    it('keeps a delayed job until its run-at time', async () => {
      await driver.push([job('later', { runAt: Date.now() + 300 })]);
      expect((await driver.getJob(queue, 'later'))?.status).toBe('delayed');
      expect((await driver.reserve(queue, reserveOptions)).jobs).toHaveLength(0);
      await sleep(350);
      expect((await driver.reserve(queue, reserveOptions)).jobs.map((j) => j.id)).toEqual(['later']);
    });

    it('tells the caller when the next delayed job is due', async () => {
      const runAt = Date.now() + 5000;
      await driver.push([job('later', { runAt })]);
      const { wakeAt } = await driver.reserve(queue, reserveOptions);
      expect(wakeAt).not.toBeNull();
      expect(Math.abs(wakeAt! - runAt)).toBeLessThan(1000);
    });

    it('records the running attempt, worker and start time on the job', async () => {
      await driver.push([job('a')]);
      await driver.reserve(queue, reserveOptions);
      const record = await driver.getJob(queue, 'a');
      expect(record).toMatchObject({ status: 'running', attempts: 1, worker: 'w1' });
      expect(record?.startedAt).toBeGreaterThan(0);
    });

    it('completes a job for the lease owner and stores its result', async () => {
      await driver.push([job('a')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'a', queue, token: reserved!.token };
      expect(await driver.complete([{ lease, result: '{"sent":true}' }])).toEqual([true]);
      expect(await driver.getJob(queue, 'a')).toMatchObject({ status: 'completed', result: { sent: true } });
      expect(await driver.counts(queue)).toMatchObject({ running: 0, completed: 1 });
    });

    it('completes a batch mixing reservations, answering in its order and storing each result', async () => {
      await driver.push(['a', 'b', 'c', 'd', 'e'].map((id) => job(id)));
      const first = (await driver.reserve(queue, { ...reserveOptions, count: 2 })).jobs;
      const second = (await driver.reserve(queue, { ...reserveOptions, count: 3 })).jobs;
      const lease = (reserved: { id: string; token: string }) => ({
        id: reserved.id,
        queue,
        token: reserved.token,
      });
      const [a, b] = first.map(lease);
      const [c, d, e] = second.map(lease);
      // interleaved reservations, a foreign token, and results that are null, falsy or not
      const stored = await driver.complete([
        { lease: c!, result: '{"n":3}' },
        { lease: a!, result: 'null' },
        { lease: { ...d!, token: 'forged' }, result: '4' },
        { lease: b!, result: '0' },
        { lease: e!, result: 'null' },
      ]);
      expect(stored).toEqual([true, true, false, true, true]);
      const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => driver.getJob(queue, id)));
      expect(results.map((record) => [record?.status, record?.result])).toEqual([
        ['completed', null],
        ['completed', 0],
        ['completed', { n: 3 }],
        ['running', null],
        ['completed', null],
      ]);
    });

    it('refuses to complete a job for a caller whose token does not own it', async () => {
      await driver.push([job('a')]);
      await driver.reserve(queue, reserveOptions);
      expect(await driver.complete([{ lease: { id: 'a', queue, token: 'forged' }, result: 'null' }])).toEqual(
        [false],
      );
      expect((await driver.getJob(queue, 'a'))?.status).toBe('running');
    });

    it("returns a crashed worker's started job after its lease expires, counting the attempt", async () => {
      await driver.push([job('a')]);
      const [first] = (await driver.reserve(queue, reserveOptions)).jobs;
      const stale = { id: 'a', queue, token: first!.token };
      // the worker's lease renewal reports the job running, then the worker dies
      expect(await driver.extend([stale], 20, { started: 1 })).toEqual(['ok']);
      await sleep(60);
      const [second] = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(second).toMatchObject({ id: 'a', attempt: 2 });
      expect(second!.token).not.toBe(first!.token);
      expect(await driver.complete([{ lease: stale, result: 'null' }])).toEqual([false]);
      expect((await driver.fail({ lease: stale, error: { message: 'x' }, retryInMs: 0 })).outcome).toBe(
        'lost',
      );
    });

    it('gives the attempt back when a lease ends before its job was known to start, even on its last try', async () => {
      await driver.push([job('ahead', { maxTries: 1 }), job('renewed', { maxTries: 1 })]);
      const reserved = (await driver.reserve(queue, reserveOptions)).jobs;
      const leases = reserved.map((r) => ({ id: r.id, queue, token: r.token }));
      // renewed, but only as held ahead of a free slot (not started)
      expect(await driver.extend(leases, 20)).toEqual(['ok', 'ok']);
      await sleep(60);
      const again = await driver.reserve(queue, reserveOptions);
      expect(again.abandoned).toEqual([]);
      expect(again.jobs.map((r) => [r.id, r.attempt])).toEqual([
        ['ahead', 1],
        ['renewed', 1],
      ]);
      expect(await driver.getJob(queue, 'ahead')).toMatchObject({ status: 'running', attempts: 1 });
      expect(await driver.complete([{ lease: leases[0]!, result: 'null' }])).toEqual([false]);
    });

    it('tells the time on the clock it stamps records with', async () => {
      await driver.push([job('a')]);
      const before = await driver.now();
      const created = (await driver.getJob(queue, 'a'))!.createdAt;
      expect(created).toBeLessThanOrEqual(await driver.now());
      // this machine's clocks agree with Redis's; elsewhere they need not
      expect(Math.abs(before - Date.now())).toBeLessThan(5000);
    });

    it('reads extend started as a whole count of the first leases: none below one, a fraction rounded down', async () => {
      await driver.push(['a', 'b', 'c', 'd'].map((id) => job(id, { maxTries: 1 })));
      const reserved = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = (id: string) => ({ id, queue, token: reserved.find((r) => r.id === id)!.token });
      expect(await driver.extend([lease('a'), lease('b')], 20, { started: -1 })).toEqual(['ok', 'ok']);
      expect(await driver.extend([lease('c'), lease('d')], 20, { started: 1.5 })).toEqual(['ok', 'ok']);
      await sleep(60);
      const again = await driver.reserve(queue, reserveOptions);
      expect(again.abandoned.map((record) => record.id)).toEqual(['c']);
      expect(again.jobs.map((r) => [r.id, r.attempt]).sort()).toEqual([
        ['a', 1],
        ['b', 1],
        ['d', 1],
      ]);
    });

    it('counts the attempt of a job that reported progress before its lease ended', async () => {
      await driver.push([job('a', { maxTries: 1 })]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(await driver.progress({ id: 'a', queue, token: reserved!.token }, 10, null)).toBe(true);
      await driver.extend([{ id: 'a', queue, token: reserved!.token }], 20); // then the worker dies
      await sleep(60);
      const { jobs, abandoned } = await driver.reserve(queue, reserveOptions);
      expect(jobs).toEqual([]);
      expect(abandoned).toMatchObject([{ id: 'a', status: 'failed', error: { code: 'E_LEASE_EXPIRED' } }]);
    });

    it(`gives an attempt back ${MAX_STALLS} times, or maxTries times when more, then fails the job with E_LEASE_EXPIRED`, async () => {
      // a: 1 try, given back MAX_STALLS times; b: 5 tries, given back 5 times (no sooner
      // failed than when every lease end counted a try)
      await driver.push([job('a', { maxTries: 1 }), job('b', { maxTries: MAX_STALLS + 2 })]);
      const abandonedAt = new Map<string, number>();
      for (let reserve = 1; reserve <= MAX_STALLS + 4; reserve++) {
        const { jobs, abandoned } = await driver.reserve(queue, { ...reserveOptions, leaseMs: 50 });
        for (const record of abandoned) abandonedAt.set(record.id, reserve);
        expect(jobs.every((r) => r.attempt === 1)).toBe(true);
        await sleep(80);
      }
      // the reserve that finds its lease ended for the (limit + 1)th time fails it
      expect(Object.fromEntries(abandonedAt)).toEqual({ a: MAX_STALLS + 2, b: MAX_STALLS + 4 });
      const record = await driver.getJob(queue, 'a');
      expect(record).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'E_LEASE_EXPIRED' } });
      expect(record?.error?.message).toMatch(
        new RegExp(
          `abandoned ${MAX_STALLS + 1} times .* before it was known to start; .* given back ${MAX_STALLS} times`,
        ),
      );
      expect((await driver.getJob(queue, 'b'))?.error?.message).toMatch(/given back 5 times at most/);
      // retried by an operator, it starts over: its lease may end unstarted again
      expect((await driver.retryFailed(queue, { ids: ['a'] })).retried).toBe(1);
      await driver.reserve(queue, { ...reserveOptions, leaseMs: 50 });
      await sleep(80);
      const retried = await driver.reserve(queue, reserveOptions);
      expect(retried.abandoned).toEqual([]);
      expect(retried.jobs.map((r) => [r.id, r.attempt])).toEqual([['a', 1]]);
    });

    it('keeps every job one reserve fails in the failed store, even more than its bound, until the next failure', async () => {
      const small = make(undefined, { failedCount: 1 });
      await small.push(['a', 'b', 'c'].map((id) => job(id, { maxTries: 1 })));
      // a long lease, shortened by the renewal that reports the start: a slow machine between the
      // two calls cannot let the lease end before the start is known
      const reserved = (await small.reserve(queue, reserveOptions)).jobs;
      const leases = reserved.map((r) => ({ id: r.id, queue, token: r.token }));
      await small.extend(leases, 20, { started: leases.length });
      await sleep(60);
      const { abandoned } = await small.reserve(queue, reserveOptions);
      expect(abandoned.map((record) => record.id).sort()).toEqual(['a', 'b', 'c']);
      expect((await small.listFailed(queue, 0, 10)).map((record) => record.id).sort()).toEqual([
        'a',
        'b',
        'c',
      ]);

      await small.push([job('d', { maxTries: 1 })]);
      const [d] = (await small.reserve(queue, reserveOptions)).jobs;
      const error = { code: 'E_TEST', message: 'no', name: 'Error' };
      expect(
        (await small.fail({ lease: { id: 'd', queue, token: d!.token }, error, retryInMs: null })).outcome,
      ).toBe('failed');
      expect((await small.listFailed(queue, 0, 10)).map((record) => record.id)).toEqual(['d']);
    });

    it('fails a job abandoned on its last try with E_LEASE_EXPIRED', async () => {
      await driver.push([job('a', { maxTries: 1 })]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      await driver.extend([{ id: 'a', queue, token: reserved!.token }], 20, { started: 1 });
      await sleep(60);
      const { jobs, abandoned } = await driver.reserve(queue, reserveOptions);
      expect(jobs).toHaveLength(0);
      expect(abandoned.map((r) => r.id)).toEqual(['a']);
      const record = await driver.getJob(queue, 'a');
      expect(record).toMatchObject({ status: 'failed', error: { code: 'E_LEASE_EXPIRED' } });
    });

    it('renews a lease for its owner so a long job is not reclaimed', async () => {
      await driver.push([job('a')]);
      const [reserved] = (await driver.reserve(queue, { ...reserveOptions, leaseMs: 200 })).jobs;
      const lease = { id: 'a', queue, token: reserved!.token };
      for (let i = 0; i < 4; i++) {
        await sleep(100);
        expect(await driver.extend([lease], 200)).toEqual(['ok']);
      }
      expect((await driver.reserve(queue, reserveOptions)).jobs).toHaveLength(0);
      expect(await driver.extend([{ ...lease, token: 'forged' }], 200)).toEqual(['lost']);
    });

    it('puts a failed attempt back to run again, now or after a delay, keeping the error', async () => {
      await driver.push([job('now'), job('later')]);
      const jobs = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = (id: string) => ({ id, queue, token: jobs.find((j) => j.id === id)!.token });
      expect(await driver.fail({ lease: lease('now'), error: { message: 'boom' }, retryInMs: 0 })).toEqual({
        outcome: 'retrying',
      });
      const later = await driver.fail({ lease: lease('later'), error: { message: 'b2' }, retryInMs: 60_000 });
      expect(later.outcome).toBe('retrying');
      expect(await driver.getJob(queue, 'now')).toMatchObject({
        status: 'queued',
        error: { message: 'boom' },
      });
      // the answer carries the run-at time the record got, by the store's clock
      const delayed = await driver.getJob(queue, 'later');
      expect(delayed?.status).toBe('delayed');
      expect(later.runAt).toBe(delayed?.runAt);
      const again = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(again.map((j) => [j.id, j.attempt])).toEqual([['now', 2]]);
    });

    it('moves a job that failed for good to the failed store, newest first', async () => {
      await driver.push([job('a'), job('b')]);
      const jobs = (await driver.reserve(queue, reserveOptions)).jobs;
      for (const j of jobs) {
        const error = { message: `bad ${j.id}`, code: 'E_X', stack: 'at x' };
        expect(
          (await driver.fail({ lease: { id: j.id, queue, token: j.token }, error, retryInMs: null })).outcome,
        ).toBe('failed');
        await sleep(5);
      }
      const failed = await driver.listFailed(queue, 0, 10);
      expect(failed.map((r) => r.id)).toEqual(['b', 'a']);
      expect(failed[0]).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { message: 'bad b', stack: 'at x' },
      });
      expect(failed[0]!.finishedAt).toBeGreaterThan(0);
    });

    it('retries failed jobs by id or all at once, as if new, answering the jobs it moved', async () => {
      await driver.push([job('a'), job('b'), job('c')]);
      for (const j of (await driver.reserve(queue, reserveOptions)).jobs) {
        await driver.fail({
          lease: { id: j.id, queue, token: j.token },
          error: { message: 'x' },
          retryInMs: null,
        });
      }
      const moved: string[] = [];
      const onMoved = (jobs: readonly { id: string; name: string }[]) => {
        for (const { id, name } of jobs) moved.push(`${id}:${name}`);
      };
      expect(await driver.retryFailed(queue, { ids: ['b', 'missing'] }, onMoved)).toEqual({
        retried: 1,
        expired: [],
        missing: ['missing'],
      });
      expect(moved).toEqual(['b:TestJob']);
      expect(await driver.getJob(queue, 'b')).toMatchObject({
        status: 'queued',
        attempts: 0,
        error: null,
        startedAt: null,
        worker: null,
      });
      expect((await driver.retryFailed(queue, { all: true }, onMoved)).retried).toBe(2);
      expect(moved.slice(1).sort()).toEqual(['a:TestJob', 'c:TestJob']);
      expect(await driver.counts(queue)).toMatchObject({ failed: 0, waiting: 3 });
    });

    it('forgets failed jobs by id, by age, or all', async () => {
      await driver.push([job('a'), job('b'), job('c')]);
      for (const j of (await driver.reserve(queue, reserveOptions)).jobs) {
        await driver.fail({
          lease: { id: j.id, queue, token: j.token },
          error: { message: 'x' },
          retryInMs: null,
        });
      }
      expect(await driver.removeFailed(queue, { ids: ['a'] })).toBe(1);
      expect(await driver.getJob(queue, 'a')).toBeUndefined();
      expect(await driver.removeFailed(queue, { failedBefore: Date.now() - 60_000 })).toBe(0);
      expect(await driver.removeFailed(queue, { failedBefore: Date.now() + 1000 })).toBe(2);
      expect((await driver.counts(queue)).failed).toBe(0);
    });

    it('releases a running job back to the front without counting the attempt', async () => {
      await driver.push([job('a'), job('b')]);
      const [first] = (await driver.reserve(queue, { ...reserveOptions, count: 1 })).jobs;
      const lease = { id: first!.id, queue, token: first!.token };
      expect(await driver.release([lease, { ...lease, token: 'forged' }])).toEqual(['queued', 'lost']);
      const again = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(again.map((j) => [j.id, j.attempt])).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
    });

    it('keeps the order of jobs handed back to the front together, ahead of the rest', async () => {
      // ids sorting against their order, so an order by id would show
      await driver.push(['e', 'd', 'c', 'b', 'a'].map((id) => job(id)));
      const held = (await driver.reserve(queue, { ...reserveOptions, count: 3 })).jobs;
      expect(held.map((r) => r.id)).toEqual(['e', 'd', 'c']);
      await driver.push([job('later')]);
      expect(await driver.release(held.map((r) => ({ id: r.id, queue, token: r.token })))).toEqual([
        'queued',
        'queued',
        'queued',
      ]);
      const again = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(again.map((r) => r.id)).toEqual(['e', 'd', 'c', 'b', 'a', 'later']);
    });

    it("hands a dead worker's jobs back to the front in the order their leases ended", async () => {
      await driver.push(['z', 'y', 'x'].map((id) => job(id)));
      const leases: string[] = [];
      // leases long enough that the first has not ended when the second reserve runs, on a
      // loaded machine too (with 20 ms it sometimes had, and that reserve took z back)
      for (let taken = 0; taken < 2; taken++) {
        const [r] = (await driver.reserve(queue, { ...reserveOptions, count: 1, leaseMs: 400 })).jobs;
        leases.push(r!.id);
        await sleep(5);
      }
      expect(leases).toEqual(['z', 'y']);
      await sleep(500);
      const again = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(again.map((r) => r.id)).toEqual(['z', 'y', 'x']);
    });

    it('puts a job handed back behind those handed back before it, whatever their ids', async () => {
      await driver.push([job('b'), job('a'), job('queued-later')]);
      const held = (await driver.reserve(queue, { ...reserveOptions, count: 2 })).jobs;
      const lease = (id: string) => ({ id, queue, token: held.find((r) => r.id === id)!.token });
      expect(await driver.release([lease('b')])).toEqual(['queued']);
      expect(await driver.release([lease('a')])).toEqual(['queued']);
      const again = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(again.map((r) => r.id)).toEqual(['b', 'a', 'queued-later']);
    });

    it('keeps that order over more lapsed leases than one reserve reclaims, with a release between', async () => {
      const ids = Array.from({ length: 131 }, (_, index) => `j${String(index).padStart(3, '0')}`);
      await driver.push(ids.map((id) => job(id)));
      // j000-j059 and j060-j120 under two lease ends; j121 under a long lease
      for (const count of [60, 61]) {
        await driver.reserve(queue, { ...reserveOptions, count, leaseMs: 300 });
        await sleep(5);
      }
      const [live] = (await driver.reserve(queue, { ...reserveOptions, count: 1 })).jobs;
      expect(live!.id).toBe('j121');
      await sleep(400); // the 300 ms leases have ended
      // a reserve reclaims 100 lapsed leases, in the order they ended, and takes five
      const order = (await driver.reserve(queue, { ...reserveOptions, count: 5 })).jobs.map((r) => r.id);
      expect(await driver.release([{ id: 'j121', queue, token: live!.token }])).toEqual(['queued']);
      for (let round = 0; round < 10 && order.length < 131; round++) {
        order.push(...(await driver.reserve(queue, { ...reserveOptions, count: 50 })).jobs.map((r) => r.id));
      }
      // j121 came back after the first 100, before the other 21
      expect(order).toEqual([...ids.slice(0, 100), 'j121', ...ids.slice(100, 121), ...ids.slice(122)]);
    });

    it('ends a released job cancelled, not queued, when its cancel was requested while it ran', async () => {
      await driver.push([job('a')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(await driver.cancel(queue, 'a')).toBe('running');
      expect(await driver.release([{ id: 'a', queue, token: reserved!.token }])).toEqual(['cancelled']);
      expect((await driver.getJob(queue, 'a'))?.status).toBe('cancelled');
      expect((await driver.reserve(queue, reserveOptions)).jobs).toHaveLength(0);
    });

    it.each([
      ['a progress report', 'progress'],
      ['a renewal saying it started', 'extend'],
    ] as const)(
      'keeps the attempt of a cancelled job known started by %s, released or lapsed alike',
      async (_how, said) => {
        await driver.push([job('released'), job('lapsed')]);
        const { jobs } = await driver.reserve(queue, { ...reserveOptions, leaseMs: 150 });
        const lease = (id: string) => ({
          id,
          queue,
          token: jobs.find((reserved) => reserved.id === id)!.token,
        });
        for (const id of ['released', 'lapsed']) {
          if (said === 'progress') await driver.progress(lease(id), 40, 'working');
          else await driver.extend([lease(id)], 150, { started: 1 });
          expect(await driver.cancel(queue, id)).toBe('running');
        }
        // handed back by a caller that does not say it started, where the other's lease lapses
        expect(await driver.release([lease('released')])).toEqual(['cancelled']);
        await sleep(250);
        expect((await driver.reserve(queue, reserveOptions)).changed).toMatchObject([
          { id: 'lapsed', status: 'cancelled', attempt: 1 },
        ]);
        const progress = said === 'progress' ? 40 : 0;
        for (const id of ['released', 'lapsed']) {
          const record = await driver.getJob(queue, id);
          expect(record, id).toMatchObject({ status: 'cancelled', attempts: 1, worker: 'w1', progress });
          expect(record?.startedAt, id).not.toBeNull();
        }
      },
    );

    it('marks a job expired, never running it, when it was not started before expiresAt', async () => {
      await driver.push([
        job('old', { expiresAt: Date.now() - 1 }),
        job('fresh', { expiresAt: Date.now() + 60_000 }),
      ]);
      const expiresAt = Date.now() + 60_000;
      await driver.push([job('plain')]);
      const { jobs } = await driver.reserve(queue, reserveOptions);
      expect(jobs.map((j) => j.id)).toEqual(['fresh', 'plain']);
      // a reserved job carries its expiresAt, for the worker to check again when it starts it
      expect(jobs[0]!.expiresAt).toBeGreaterThan(expiresAt - 1000);
      expect(jobs[1]!.expiresAt).toBeUndefined();
      expect(await driver.getJob(queue, 'old')).toMatchObject({
        status: 'expired',
        error: { code: 'E_JOB_EXPIRED' },
      });
    });

    it('fails for good, keeping its error, an attempt whose retry would come due after expiresAt', async () => {
      await driver.push([job('late', { maxTries: 3, expiresAt: Date.now() + 300 })]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'late', queue, token: reserved!.token };
      const error = { message: 'smtp down', code: 'E_SMTP' };
      expect((await driver.fail({ lease, error, retryInMs: 400 })).outcome).toBe('failed');
      expect(await driver.getJob(queue, 'late')).toMatchObject({ status: 'failed', attempts: 1, error });
      expect((await driver.listFailed(queue, 0, 10)).map((record) => record.id)).toEqual(['late']);
    });

    it('fails a job that ran and comes due again past expiresAt, keeping the error of its attempt', async () => {
      await driver.push([job('retried', { maxTries: 3, expiresAt: Date.now() + 200 })]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'retried', queue, token: reserved!.token };
      const error = { message: 'smtp down', code: 'E_SMTP' };
      expect((await driver.fail({ lease, error, retryInMs: 0 })).outcome).toBe('retrying');
      await sleep(250);
      const { jobs, abandoned, expired } = await driver.reserve(queue, reserveOptions);
      expect({ jobs, expired }).toEqual({ jobs: [], expired: [] });
      // handed back as failed by this call, for its failed() hook and event
      expect(abandoned).toMatchObject([{ id: 'retried', status: 'failed', attempts: 1, error }]);
    });

    it('fails with E_JOB_EXPIRED a crashed attempt whose job comes due again past expiresAt', async () => {
      await driver.push([job('crashed', { maxTries: 3, expiresAt: Date.now() + 150 })]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      await driver.extend([{ id: 'crashed', queue, token: reserved!.token }], 20, { started: 1 });
      await sleep(200);
      const { jobs, abandoned } = await driver.reserve(queue, reserveOptions);
      expect(jobs).toEqual([]);
      expect(abandoned).toMatchObject([
        { id: 'crashed', status: 'failed', error: { code: 'E_JOB_EXPIRED' } },
      ]);
      expect((await driver.getJob(queue, 'crashed'))?.error?.message).toMatch(/before its next attempt/);
    });

    it('ends expired, not failed, a job whose crashed worker never started it and whose expiresAt then passed', async () => {
      await driver.push([job('ahead', { maxTries: 3, expiresAt: Date.now() + 150 })]);
      await driver.reserve(queue, { ...reserveOptions, leaseMs: 50 });
      await sleep(200);
      const { jobs, abandoned, expired } = await driver.reserve(queue, reserveOptions);
      expect({ jobs, abandoned }).toEqual({ jobs: [], abandoned: [] });
      expect(expired).toEqual([{ id: 'ahead', name: 'TestJob' }]);
      expect(await driver.getJob(queue, 'ahead')).toMatchObject({ status: 'expired', attempts: 0 });
    });

    it('fails with E_JOB_EXPIRED, not expires, a started job handed back on shutdown whose expiresAt then passed', async () => {
      await driver.push([
        job('interrupted', { maxTries: 3, expiresAt: Date.now() + 150 }),
        job('unstarted', { maxTries: 3, expiresAt: Date.now() + 150 }),
      ]);
      const held = (await driver.reserve(queue, { ...reserveOptions, count: 2 })).jobs;
      const leases = held.map((reserved) => ({ id: reserved.id, queue, token: reserved.token }));
      // only the first had started: its handler ran until the worker stopped
      expect(await driver.release(leases, { started: 1 })).toEqual(['queued', 'queued']);
      expect(await driver.getJob(queue, 'interrupted')).toMatchObject({ status: 'queued', attempts: 0 });
      await sleep(200);
      const { jobs, abandoned, expired } = await driver.reserve(queue, reserveOptions);
      expect(jobs).toEqual([]);
      expect(abandoned).toMatchObject([
        { id: 'interrupted', status: 'failed', error: { code: 'E_JOB_EXPIRED' } },
      ]);
      expect(expired).toEqual([{ id: 'unstarted', name: 'TestJob' }]);
    });

    it('keeps a retry due in an absurdly long time delayed, not due at once (its run-at clamped to the end of 9999)', async () => {
      await driver.push([job('far')]);
      const [far] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'far', queue, token: far!.token };
      expect(await driver.fail({ lease, error: { message: 'later' }, retryInMs: 1e300 })).toEqual({
        outcome: 'retrying',
        runAt: LATEST_DISPATCH_MS,
      });
      expect(await driver.getJob(queue, 'far')).toMatchObject({
        status: 'delayed',
        runAt: LATEST_DISPATCH_MS,
      });
      expect((await driver.reserve(queue, reserveOptions)).jobs).toEqual([]);
    });

    it('leaves failed, and names, a failed job past its expiresAt that a retry would only expire', async () => {
      await driver.push([
        job('late', { maxTries: 1, expiresAt: Date.now() + 150 }),
        job('fine', { maxTries: 1 }),
      ]);
      const held = (await driver.reserve(queue, { ...reserveOptions, count: 2 })).jobs;
      for (const reserved of held) {
        const lease = { id: reserved.id, queue, token: reserved.token };
        await driver.fail({ lease, error: { message: 'down', code: 'E_DOWN' }, retryInMs: null });
      }
      await sleep(200);
      expect(await driver.retryFailed(queue, { ids: ['late'] })).toEqual({
        retried: 0,
        expired: ['late'],
        missing: [],
      });
      expect(await driver.retryFailed(queue, { all: true })).toEqual({
        retried: 1,
        expired: ['late'],
        missing: [],
      });
      expect(await driver.getJob(queue, 'late')).toMatchObject({
        status: 'failed',
        error: { code: 'E_DOWN' },
      });
      expect(await driver.getJob(queue, 'fine')).toMatchObject({ status: 'queued' });
    });

    it('holds a job created on hold until it is released', async () => {
      await driver.push([job('held', { hold: true })]);
      expect((await driver.getJob(queue, 'held'))?.status).toBe('pending');
      expect((await driver.reserve(queue, reserveOptions)).jobs).toHaveLength(0);
      expect(await driver.releaseHeld(queue, 'held')).toBe('queued');
      expect((await driver.reserve(queue, reserveOptions)).jobs.map((j) => j.id)).toEqual(['held']);
      await expect(driver.releaseHeld(queue, 'held')).rejects.toBeInstanceOf(JobStateError);
    });

    it('keeps a held job pending past its expiresAt, and expires it, never run, once released', async () => {
      await driver.push([job('held', { hold: true, expiresAt: Date.now() + 50 })]);
      await sleep(80);
      expect((await driver.reserve(queue, reserveOptions)).jobs).toHaveLength(0);
      expect((await driver.getJob(queue, 'held'))?.status).toBe('pending');
      expect(await driver.releaseHeld(queue, 'held')).toBe('queued');
      expect((await driver.reserve(queue, reserveOptions)).jobs).toHaveLength(0);
      expect(await driver.getJob(queue, 'held')).toMatchObject({
        status: 'expired',
        attempts: 0,
        error: { code: 'E_JOB_EXPIRED' },
      });
    });

    it('cancels a waiting job at once and a running one through its lease', async () => {
      await driver.push([job('waiting'), job('running', { priority: -1 })]);
      const [running] = (await driver.reserve(queue, { ...reserveOptions, count: 1 })).jobs;
      expect(await driver.cancel(queue, 'waiting')).toBe('cancelled');
      expect((await driver.getJob(queue, 'waiting'))?.status).toBe('cancelled');
      expect(await driver.cancel(queue, 'running')).toBe('running');
      const lease = { id: 'running', queue, token: running!.token };
      expect(await driver.extend([lease], 30_000)).toEqual(['cancel']);
      expect((await driver.fail({ lease, error: { message: 'aborted' }, retryInMs: 0 })).outcome).toBe(
        'cancelled',
      );
      expect((await driver.getJob(queue, 'running'))?.status).toBe('cancelled');
      await expect(driver.cancel(queue, 'running')).rejects.toBeInstanceOf(JobStateError);
      await expect(driver.cancel(queue, 'nope')).rejects.toBeInstanceOf(JobNotFoundError);
    });

    it('queues a delayed job or retry come due as of its run-at time, so its wait counts from then', async () => {
      // due after the first reserve (see below), and long before the one that promotes it
      await driver.push([job('due', { runAt: Date.now() + 100 }), job('retried')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'retried', queue, token: reserved!.token };
      const { runAt: retryAt } = await driver.fail({ lease, error: { message: 'again' }, retryInMs: 20 });
      await sleep(250);
      expect((await driver.stats(queue)).oldestWaitingMs).toBeGreaterThanOrEqual(100);
      // promoted, not reserved: it has waited since its run-at time, not since this reserve
      const { changed } = await driver.reserve(queue, { ...reserveOptions, count: 0 });
      expect(changed.map((change) => change.id).sort()).toEqual(['due', 'retried']);
      const due = await driver.getJob(queue, 'due');
      expect(due).toMatchObject({ status: 'queued' });
      expect(due!.queuedAt).toBe(due!.runAt);
      expect(await driver.getJob(queue, 'retried')).toMatchObject({ status: 'queued', queuedAt: retryAt });
      expect((await driver.stats(queue)).oldestWaitingMs).toBeGreaterThanOrEqual(100);
    });

    it('promotes at most 1,000 due delayed jobs per reserve, in the order they came due', async () => {
      const runAt = Date.now() + 200; // still ahead once all are pushed
      const ids = Array.from({ length: 1001 }, (_, index) => `d${String(index).padStart(4, '0')}`);
      // the last to come due would be reserved first, had it been promoted
      await driver.push(
        ids.map((id, index) => job(id, index < 1000 ? { runAt } : { runAt: runAt + 1, priority: -5 })),
      );
      await sleep(300);
      const first = await driver.reserve(queue, { ...reserveOptions, count: 1 });
      expect(first.jobs.map((j) => j.id)).toEqual(['d0000']);
      expect(first.changed.map((change) => change.id)).toEqual(ids.slice(0, 1000));
      expect((await driver.counts(queue)).delayed).toBe(1);
      const second = await driver.reserve(queue, { ...reserveOptions, count: 1 });
      expect(second.jobs.map((j) => j.id)).toEqual(['d1000']);
      await driver.clear(queue);
    });

    it('queues jobs due at the same time in the order they were delayed, not by id', async () => {
      const runAt = Date.now() + 250; // still ahead once all are pushed and released
      // pushed in this order, their ids sorting the other way
      await driver.push([job('zz-pushed-1', { runAt }), job('mm-pushed-2', { runAt })]);
      // held jobs released with that same run-at time join behind them, in release order
      await driver.push([job('aa-held', { runAt, hold: true }), job('bb-held', { runAt, hold: true })]);
      expect(await driver.releaseHeld(queue, 'bb-held')).toBe('delayed');
      expect(await driver.releaseHeld(queue, 'aa-held')).toBe('delayed');
      await sleep(350);
      const { jobs, changed } = await driver.reserve(queue, reserveOptions);
      const order = ['zz-pushed-1', 'mm-pushed-2', 'bb-held', 'aa-held'];
      expect(changed.map((change) => change.id)).toEqual(order);
      expect(jobs.map((j) => j.id)).toEqual(order);
    });

    it('reports the status changes a reserve makes: a delayed job come due, a lapsed lease handed back or, its cancel asked for, cancelled', async () => {
      // due after the first reserve (on a loaded machine, 20 ms was sometimes too soon) and
      // before the one after the leases end
      await driver.push([job('due', { runAt: Date.now() + 250 }), job('lapsed'), job('doomed'), job('idle')]);
      const held = (await driver.reserve(queue, { ...reserveOptions, leaseMs: 300 })).jobs;
      expect(held.map((r) => r.id)).toEqual(['lapsed', 'doomed', 'idle']);
      // the first two started (a renewal said so), the last was held ahead of a free slot; then
      // their worker died, and two were cancelled meanwhile
      const leases = held.map((r) => ({ id: r.id, queue, token: r.token }));
      expect(await driver.extend(leases, 300, { started: 2 })).toEqual(['ok', 'ok', 'ok']);
      expect(await driver.cancel(queue, 'doomed')).toBe('running');
      expect(await driver.cancel(queue, 'idle')).toBe('running');
      await sleep(400); // the 300 ms leases have ended
      const result = await driver.reserve(queue, { ...reserveOptions, count: 0 });
      const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      expect([...result.changed].sort(byId)).toEqual([
        { id: 'doomed', name: 'TestJob', attempt: 1, status: 'cancelled' },
        { id: 'due', name: 'TestJob', attempt: 0, status: 'queued' },
        // never started: its attempt is not counted, as when a release cancels it
        { id: 'idle', name: 'TestJob', attempt: 0, status: 'cancelled' },
        { id: 'lapsed', name: 'TestJob', attempt: 1, status: 'queued', reclaimed: true },
      ]);
      expect((await driver.getJob(queue, 'doomed'))?.status).toBe('cancelled');
      expect(await driver.getJob(queue, 'idle')).toMatchObject({
        status: 'cancelled',
        attempts: 0,
        startedAt: null,
        worker: null,
      });
      expect((await driver.reserve(queue, { ...reserveOptions, count: 0 })).changed).toEqual([]);
    });

    it('keeps no start time or worker on a job handed back before any attempt of it started', async () => {
      await driver.push([job('released'), job('lapsed')]);
      const held = (await driver.reserve(queue, { ...reserveOptions, leaseMs: 300 })).jobs;
      const lease = (id: string) => ({ id, queue, token: held.find((r) => r.id === id)!.token });
      expect(await driver.getJob(queue, 'released')).toMatchObject({
        startedAt: expect.any(Number),
        worker: 'w1',
      });
      expect(await driver.release([lease('released')])).toEqual(['queued']);
      await sleep(400); // the 300 ms leases have ended
      expect((await driver.reserve(queue, { ...reserveOptions, count: 0 })).changed).toHaveLength(1);
      for (const id of ['released', 'lapsed']) {
        expect(await driver.getJob(queue, id)).toMatchObject({
          status: 'queued',
          attempts: 0,
          startedAt: null,
          worker: null,
        });
      }
    });

    it('starts the next attempt from no progress, after a failed one, one whose worker died or one released', async () => {
      await driver.push([job('failed'), job('crashed'), job('released')]);
      const held = (await driver.reserve(queue, { ...reserveOptions, leaseMs: 300 })).jobs;
      const lease = (id: string) => ({ id, queue, token: held.find((r) => r.id === id)!.token });
      for (const { id } of held)
        expect(await driver.progress(lease(id), 60, 'halfway', '{"rows":6}')).toBe(true);
      expect(
        (await driver.fail({ lease: lease('failed'), error: { message: 'boom' }, retryInMs: 60_000 }))
          .outcome,
      ).toBe('retrying');
      expect(await driver.release([lease('released')])).toEqual(['queued']);
      await sleep(400); // the 300 ms leases have ended
      await driver.reserve(queue, { ...reserveOptions, count: 0 });
      for (const id of ['failed', 'crashed']) {
        expect(await driver.getJob(queue, id)).toMatchObject({
          attempts: 1,
          progress: 0,
          progressMessage: null,
          progressData: null,
        });
      }
      expect(await driver.getJob(queue, 'released')).toMatchObject({
        attempts: 0,
        progress: 0,
        progressMessage: null,
        progressData: null,
      });
    });

    it('keeps the progress of a job failed for good, and starts it over without it when retried from failed', async () => {
      await driver.push([job('doomed')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'doomed', queue, token: reserved!.token };
      await driver.progress(lease, 70, 'nearly', '{"rows":7}');
      await driver.fail({ lease, error: { message: 'for good' }, retryInMs: null });
      // what it had done when it failed stays on the record, for whoever looks into it
      expect(await driver.getJob(queue, 'doomed')).toMatchObject({
        status: 'failed',
        progress: 70,
        progressData: { rows: 7 },
      });
      expect((await driver.retryFailed(queue, { ids: ['doomed'] })).retried).toBe(1);
      expect(await driver.getJob(queue, 'doomed')).toMatchObject({
        status: 'queued',
        progress: 0,
        progressMessage: null,
        progressData: null,
      });
    });

    it('reports the wait of the longest-waiting job whatever its priority, and of a due delayed job not yet moved', async () => {
      await driver.push([job('starved', { priority: 5 })]);
      await sleep(80);
      await driver.push(Array.from({ length: 150 }, (_, index) => job(`busy-${index}`)));
      // handed back: at the front of its priority, queued again just now
      const [taken] = (await driver.reserve(queue, { ...reserveOptions, count: 1 })).jobs;
      expect(await driver.release([{ id: taken!.id, queue, token: taken!.token }])).toEqual(['queued']);
      const { oldestWaitingMs, waiting } = await driver.stats(queue);
      expect(waiting).toBe(151);
      expect(oldestWaitingMs).toBeGreaterThanOrEqual(70);
      expect(oldestWaitingMs).toBeLessThan(10_000);

      const other = `${queue}-due`;
      // due far enough ahead that the first read comes before it on a loaded machine (20 ms did not,
      // with test files running two at a time)
      await driver.push([{ ...job('due'), queue: other, runAt: Date.now() + 300 }]);
      expect((await driver.stats(other)).oldestWaitingMs).toBe(0);
      await sleep(400);
      expect((await driver.stats(other)).oldestWaitingMs).toBeGreaterThanOrEqual(60);
      await driver.clear(other);
    });

    it('counts the wait of jobs handed back to the front of their priority, queued again when handed back', async () => {
      // 150 taken and held; two more handed back early; then the 150 handed back later: the
      // two early ones are the first of the 152 at the front of the priority, and the oldest
      await driver.push(Array.from({ length: 150 }, (_, index) => job(`a-${index}`)));
      const held = (await driver.reserve(queue, { ...reserveOptions, count: 150 })).jobs;
      await driver.push([job('z-back'), job('y-back')]);
      const early = (await driver.reserve(queue, reserveOptions)).jobs;
      const leases = (jobs: typeof held) => jobs.map((r) => ({ id: r.id, queue, token: r.token }));
      expect(await driver.release(leases(early))).toEqual(['queued', 'queued']);
      await sleep(80);
      expect(new Set(await driver.release(leases(held)))).toEqual(new Set(['queued']));
      await driver.push(Array.from({ length: 5 }, (_, index) => job(`later-${index}`)));
      const { oldestWaitingMs, waiting } = await driver.stats(queue);
      expect(waiting).toBe(157);
      expect(oldestWaitingMs).toBeGreaterThanOrEqual(70);
      expect(oldestWaitingMs).toBeLessThan(10_000);
    });

    it("keeps a job's owner and description on its record through a retry and a retry from failed", async () => {
      const labels = { owner: 'sensor-17', description: 'firmware 2.4 upload (ü, 日本)' };
      await driver.push([job('a', labels)]);
      const reserveOne = async () => (await driver.reserve(queue, { ...reserveOptions, count: 1 })).jobs[0]!;
      const first = await reserveOne();
      const lease = (reserved: typeof first) => ({ id: reserved.id, queue, token: reserved.token });
      await driver.fail({ lease: lease(first), error: { message: 'again' }, retryInMs: 0 });
      const again = await reserveOne();
      expect(again.id).toBe('a');
      await driver.fail({ lease: lease(again), error: { message: 'for good' }, retryInMs: null });
      expect(await driver.getJob(queue, 'a')).toMatchObject({ status: 'failed', ...labels });
      expect((await driver.retryFailed(queue, { ids: ['a'] })).retried).toBe(1);
      expect(await driver.getJob(queue, 'a')).toMatchObject({ status: 'queued', attempts: 0, ...labels });
      await driver.push([job('b')]);
      expect(await driver.getJob(queue, 'b')).toMatchObject({ owner: null, description: null });
    });

    it('stores the data of a progress report, replaces it with the next, and starts a retry without it', async () => {
      await driver.push([job('a')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      const lease = { id: 'a', queue, token: reserved!.token };
      expect(await driver.progress(lease, 40, 'rows', JSON.stringify({ rows: 400, last: 'r-400' }))).toBe(
        true,
      );
      expect(await driver.getJob(queue, 'a')).toMatchObject({
        progress: 40,
        progressMessage: 'rows',
        progressData: { rows: 400, last: 'r-400' },
      });
      await driver.progress(lease, 50, null);
      expect(await driver.getJob(queue, 'a')).toMatchObject({
        progress: 50,
        progressMessage: null,
        progressData: null,
      });
      await driver.progress(lease, 60, null, '[1,2]');
      await driver.fail({ lease, error: { message: 'again' }, retryInMs: 0 });
      expect(await driver.getJob(queue, 'a')).toMatchObject({ progress: 0, progressData: null });
    });

    it('stores progress only for the lease owner', async () => {
      await driver.push([job('a')]);
      const [reserved] = (await driver.reserve(queue, reserveOptions)).jobs;
      expect(await driver.progress({ id: 'a', queue, token: reserved!.token }, 42, 'uploading')).toBe(true);
      expect(await driver.progress({ id: 'a', queue, token: 'forged' }, 99, null)).toBe(false);
      expect(await driver.getJob(queue, 'a')).toMatchObject({ progress: 42, progressMessage: 'uploading' });
    });

    it('pages through completed records newest first, each with the finish time its own read gives', async () => {
      const completeNext = async (count: number) => {
        const { jobs } = await driver.reserve(queue, { ...reserveOptions, count });
        await driver.complete(
          jobs.map((job) => ({ lease: { id: job.id, queue, token: job.token }, result: 'null' })),
        );
      };
      await driver.push(['a', 'b', 'c', 'd', 'e'].map((id) => job(id)));
      await completeNext(2); // a, b
      await sleep(5);
      await completeNext(3); // c, d, e, later
      const page = await driver.listJobs(queue, 'completed', 1, 3);
      expect(page.map((record) => record.id)).toEqual(['d', 'c', 'b']);
      for (const record of page) {
        expect(record.status).toBe('completed');
        expect(record.finishedAt).toBe((await driver.getJob(queue, record.id))!.finishedAt);
      }
      expect(page[1]!.finishedAt).toBeGreaterThan(page[2]!.finishedAt!);
      expect((await driver.listJobs(queue, 'completed', 4, 3)).map((record) => record.id)).toEqual(['a']);
      expect(await driver.listJobs(queue, 'completed', 5, 3)).toEqual([]);
    });

    it('keeps no more completed records than its retention allows', async () => {
      const bounded = make({ completedCount: 2 });
      await bounded.push(['a', 'b', 'c', 'd'].map((id) => job(id)));
      for (const j of (await bounded.reserve(queue, reserveOptions)).jobs) {
        await bounded.complete([{ lease: { id: j.id, queue, token: j.token }, result: 'null' }]);
      }
      expect((await bounded.counts(queue)).completed).toBe(2);
      expect(await bounded.getJob(queue, 'a')).toBeUndefined();
      expect((await bounded.getJob(queue, 'd'))?.status).toBe('completed');
    });

    it('drops completed records once they are older than their retention age', async () => {
      const aging = make({ completedAgeMs: 60 });
      const completeAll = async () => {
        for (const j of (await aging.reserve(queue, reserveOptions)).jobs) {
          await aging.complete([{ lease: { id: j.id, queue, token: j.token }, result: 'null' }]);
        }
      };
      await aging.push([job('a'), job('b')]);
      await completeAll();
      await sleep(100);
      await aging.push([job('c')]);
      await completeAll();
      expect(await aging.getJob(queue, 'a')).toBeUndefined();
      expect(await aging.getJob(queue, 'b')).toBeUndefined();
      expect((await aging.getJob(queue, 'c'))?.status).toBe('completed');
      expect((await aging.counts(queue)).completed).toBe(1);
    });

    it('lists completed jobs newest first, from an offset', async () => {
      for (const id of ['a', 'b', 'c']) {
        await driver.push([job(id)]);
        const [j] = (await driver.reserve(queue, reserveOptions)).jobs;
        await driver.complete([{ lease: { id, queue, token: j!.token }, result: 'null' }]);
        await sleep(2);
      }
      const listed = await driver.listJobs(queue, 'completed', 0, 10);
      expect(listed.map((r) => r.id)).toEqual(['c', 'b', 'a']);
      expect(listed[0]!.finishedAt).toBeGreaterThanOrEqual(listed[2]!.finishedAt!);
      expect((await driver.listJobs(queue, 'completed', 1, 1)).map((r) => r.id)).toEqual(['b']);
    });

    it('lists and trims the completed records of one acknowledgement batch in the order they were acknowledged', async () => {
      const kept = `${queue}-kept`;
      const bounded = make({ completedCount: 2 });
      for (const [store, name] of [
        [driver, queue],
        [bounded, kept],
      ] as const) {
        await store.push(['a', 'b', 'c'].map((id) => ({ ...job(id), queue: name })));
        const { jobs } = await store.reserve(name, reserveOptions);
        const lease = (id: string) => ({ id, queue: name, token: jobs.find((j) => j.id === id)!.token });
        // one call, so one finish time for the three, whatever their ids
        await store.complete(['c', 'a', 'b'].map((id) => ({ lease: lease(id), result: 'null' })));
      }
      const listed = async (store: QueueDriver, name: string, offset: number) =>
        (await store.listJobs(name, 'completed', offset, 10)).map((record) => record.id);
      expect(await listed(driver, queue, 0)).toEqual(['b', 'a', 'c']);
      expect(await listed(driver, queue, 1)).toEqual(['a', 'c']);
      expect(await listed(bounded, kept, 0)).toEqual(['b', 'a']);
      expect(await bounded.getJob(kept, 'c')).toBeUndefined();
    });

    it('deletes completed records at once when retention is zero', async () => {
      const none = make({ completedCount: 0 });
      await none.push([job('a')]);
      const [j] = (await none.reserve(queue, reserveOptions)).jobs;
      expect(await none.complete([{ lease: { id: 'a', queue, token: j!.token }, result: 'null' }])).toEqual([
        true,
      ]);
      expect(await none.getJob(queue, 'a')).toBeUndefined();
    });

    it('lists jobs by status and knows its queues', async () => {
      await driver.push([job('a'), job('b'), job('c', { runAt: Date.now() + 60_000 })]);
      expect((await driver.listJobs(queue, 'queued', 0, 10)).map((r) => r.id)).toEqual(['a', 'b']);
      expect((await driver.listJobs(queue, 'delayed', 0, 10)).map((r) => r.id)).toEqual(['c']);
      expect(await driver.queues()).toContain(queue);
    });

    it('clears waiting and delayed jobs but not running ones', async () => {
      await driver.push([job('a'), job('b'), job('c', { runAt: Date.now() + 60_000 })]);
      await driver.reserve(queue, { ...reserveOptions, count: 1 });
      expect(await driver.clear(queue)).toBe(2);
      expect(await driver.counts(queue)).toMatchObject({ waiting: 0, delayed: 0, running: 1 });
    });

    it('wakes a waiting worker as soon as a job is pushed', async () => {
      const started = Date.now();
      const waiting = driver.waitForWork([queue], 5000);
      await sleep(50);
      await driver.push([job('a')]);
      await waiting;
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('stops waiting after the timeout, or at once when interrupted', async () => {
      const started = Date.now();
      await driver.waitForWork([queue], 100);
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      const waiting = driver.waitForWork([queue], 10_000);
      await sleep(20);
      driver.interrupt();
      await waiting;
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('waits a timeout longer than a Node timer holds (24.8 days) without spinning', async () => {
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.name);
      process.on('warning', onWarning);
      try {
        // past a Node timer (3e9), and past what Redis takes as a BLPOP timeout (1e19)
        for (const timeoutMs of [3_000_000_000, 1e19]) {
          let returned = false;
          const waiting = driver.waitForWork([queue], timeoutMs).then(() => {
            returned = true;
          });
          await sleep(200);
          expect(returned, `a wait of ${timeoutMs} ms`).toBe(false);
          driver.interrupt();
          await waiting;
        }
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    });
  });
}
