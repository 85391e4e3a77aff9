import { afterAll, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  InvalidOptionError,
  InvalidPayloadError,
  Job,
  JobRegistry,
  MemoryQueueDriver,
  Queue,
  QueueFake,
  QueueNotBoundError,
  RedisQueueDriver,
  RedisUnavailableError,
} from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import { uniqueQueue } from '../../support/queue_names.js';
import { EchoJob, testJobs } from '../../support/test_jobs.js';

describe('Dispatcher on Redis', () => {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' });
  const dispatcher = new Dispatcher(driver, new JobRegistry().register(...testJobs));
  afterAll(() => driver.close());

  it('stores a job with its class settings and dispatch options', async () => {
    const queue = uniqueQueue('dispatch');
    const runAt = Date.now() + 60_000;
    const id = await dispatcher.dispatch(
      EchoJob,
      { tag: 't', value: 'v' },
      { queue, priority: 7, runAt, maxTries: 9 },
    );
    expect(await driver.getJob(queue, id)).toMatchObject({
      name: 'EchoJob',
      status: 'delayed',
      priority: 7,
      maxTries: 9,
      runAt,
      payload: { tag: 't', value: 'v' },
    });
    await driver.clear(queue);
  });

  it('refuses a whole batch with E_INVALID_PAYLOAD when one payload is not JSON-safe, writing nothing', async () => {
    const queue = uniqueQueue('dispatch');
    const good = { job: EchoJob, payload: { tag: 't', value: 'ok' }, options: { queue } };
    const bad = { job: EchoJob, payload: { tag: 't', value: new Date() as never }, options: { queue } };
    await expect(dispatcher.dispatchMany([good, bad])).rejects.toThrow(InvalidPayloadError);
    expect((await driver.counts(queue)).waiting).toBe(0);
  });

  it('makes a dispatch with a known job id idempotent', async () => {
    const queue = uniqueQueue('dispatch');
    const options = { queue, jobId: 'reading-42' };
    expect(await dispatcher.dispatch(EchoJob, { tag: 't', value: 'first' }, options)).toBe('reading-42');
    await dispatcher.dispatch(EchoJob, { tag: 't', value: 'second' }, options);
    expect((await driver.counts(queue)).waiting).toBe(1);
    expect((await driver.getJob(queue, 'reading-42'))?.payload).toEqual({ tag: 't', value: 'first' });
    await driver.clear(queue);
  });

  it('dispatches by name only registered jobs, validating the payload against the schema', async () => {
    await expect(dispatcher.dispatchByName('Nope', {})).rejects.toThrow(/no job is registered as "Nope"/);
  });

  it('rejects out-of-range options with E_INVALID_OPTION', async () => {
    const payload = { tag: 't', value: 'v' };
    await expect(dispatcher.dispatch(EchoJob, payload, { priority: 1.5 })).rejects.toThrow(
      InvalidOptionError,
    );
    await expect(dispatcher.dispatch(EchoJob, payload, { delay: -1 })).rejects.toThrow(InvalidOptionError);
    await expect(dispatcher.dispatch(EchoJob, payload, { queue: 'a{b}' })).rejects.toThrow(/queue name/);
    await expect(dispatcher.dispatch(EchoJob, payload, { jobId: '../etc' })).rejects.toThrow(/job id/);
  });

  it('stores an owner and a description, and refuses ones with control characters or too long', async () => {
    const queue = uniqueQueue('dispatch');
    const payload = { tag: 't', value: 'v' };
    const id = await dispatcher.dispatch(EchoJob, payload, {
      queue,
      owner: 'tenant-a/sensor-17',
      description: 'Recalibrate sensor 17 — 2nd pass',
    });
    expect(await driver.getJob(queue, id)).toMatchObject({
      owner: 'tenant-a/sensor-17',
      description: 'Recalibrate sensor 17 — 2nd pass',
    });
    for (const options of [
      { owner: '' },
      { owner: 'x'.repeat(129) },
      { owner: 'sensor\n17' },
      { owner: 'a\u001b[31mred' },
      { description: 'line one\u2028line two' },
      { owner: 'admin\u202e' }, // a right-to-left override
      { owner: 'a\u200bb' }, // a zero-width space
      { description: 'lone \ud800 surrogate' },
      { description: 'd'.repeat(501) },
      { owner: 42 as unknown as string },
    ]) {
      await expect(dispatcher.dispatch(EchoJob, payload, { queue, ...options })).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        message: expect.stringMatching(
          /^(owner|description) must be 1 to \d+ characters of text without control/,
        ),
      });
    }
    expect((await driver.counts(queue)).waiting).toBe(1);
    await driver.clear(queue);
  });

  it('refuses a job name that Topiq cannot store, even for a class it never registered', async () => {
    // the name is the first line of the stored job: a line break would shift every field after it
    class BrokenNameJob extends Job<{ tag: string; value: string }> {
      static override readonly jobName = 'Send\nEmail';
      async handle(): Promise<void> {}
    }
    const bare = new Dispatcher(driver);
    const queue = uniqueQueue('bad-name');
    await expect(bare.dispatch(BrokenNameJob, { tag: 't', value: 'v' }, { queue })).rejects.toThrow(
      /job name "Send\\nEmail" is not allowed/,
    );
    expect(await driver.counts(queue)).toMatchObject({ waiting: 0 });
    expect(() => new JobRegistry().register(BrokenNameJob)).toThrow(InvalidOptionError);
  });

  it('reports an unreachable Redis as E_REDIS_UNAVAILABLE saying what to do', async () => {
    const port = await freePort();
    const down = new RedisQueueDriver({ connection: { port, host: '127.0.0.1', retryStrategy: () => 50 } });
    const failing = new Dispatcher(down);
    const started = Date.now();
    const error = await failing.dispatch(EchoJob, { tag: 't', value: 'v' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`127.0.0.1:${port}.*REDIS_URL`));
    expect(Date.now() - started).toBeLessThan(5000);
    await down.close();
  });
});

describe('Queue facade', () => {
  it('refuses a static dispatch before an application is bound, as a rejection a .catch() sees', async () => {
    expect(() => Queue.dispatcher()).toThrow(QueueNotBoundError);
    // a synchronous throw would pass by .catch() and by expect(...).rejects
    const dispatched = EchoJob.dispatch({ tag: 't', value: 'v' });
    const many = EchoJob.dispatchMany([{ tag: 't', value: 'v' }]);
    await expect(dispatched).rejects.toThrow(QueueNotBoundError);
    await expect(many).rejects.toThrow(QueueNotBoundError);
  });
});

describe('Dispatcher.dispatchMany with job ids', () => {
  const payload = { tag: 't', value: 'v' };

  it('refuses one jobId on two jobs of one queue with E_INVALID_OPTION, storing none of the call', async () => {
    const driver = new MemoryQueueDriver();
    const dispatcher = new Dispatcher(driver);
    const entries = [
      { job: EchoJob, payload, options: { queue: 'q', jobId: 'batch-1' } },
      { job: EchoJob, payload: { tag: 't', value: 'other' }, options: { queue: 'q', jobId: 'batch-1' } },
    ];
    await expect(dispatcher.dispatchMany(entries)).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      message: expect.stringMatching(
        /^jobId "batch-1" is given to more than one job of queue "q" in one dispatchMany call/,
      ),
    });
    expect(await driver.counts('q')).toMatchObject({ waiting: 0 });
    // ids are unique per queue: one id in two queues is two jobs
    const ids = await dispatcher.dispatchMany([
      { job: EchoJob, payload, options: { queue: 'q', jobId: 'batch-1' } },
      { job: EchoJob, payload, options: { queue: 'r', jobId: 'batch-1' } },
    ]);
    expect(ids).toEqual(['batch-1', 'batch-1']);
    await driver.close();
  });

  it('refuses a jobId option (which its type leaves out) given with more than one payload to the static Job.dispatchMany', async () => {
    const fake = QueueFake.install({ jobs: [EchoJob] });
    try {
      await expect(
        EchoJob.dispatchMany([payload, payload], { jobId: 'batch-2' } as never),
      ).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        message: expect.stringContaining('Job.dispatchMany(payloads, { jobId }) gives the same one to all'),
      });
      expect(fake.dispatched(EchoJob)).toEqual([]);
      expect(await EchoJob.dispatchMany([payload], { jobId: 'batch-2' } as never)).toEqual(['batch-2']);
    } finally {
      fake.restore();
    }
  });
});

describe('Dispatcher options from untyped code', () => {
  const payload = { tag: 't', value: 'v' };
  const dispatcher = new Dispatcher(new MemoryQueueDriver());
  const refused = (options: unknown) =>
    expect(dispatcher.dispatch(EchoJob, payload, options as never)).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
    });

  it('refuses a run or expiry time that is neither a Date nor a number with E_INVALID_OPTION', async () => {
    await refused({ runAt: '2030-01-01' });
    await expect(dispatcher.dispatch(EchoJob, payload, { runAt: '2030-01-01' } as never)).rejects.toThrow(
      'runAt must be a valid Date or epoch milliseconds up to the year 9999; got "2030-01-01" (pass new Date("2030-01-01"))',
    );
    await refused({ expiresAt: { at: 1 } });
    await refused({ delay: '10' });
  });

  it('takes a null time as absent, as a null queue, priority or jobId is', async () => {
    const job = dispatcher.build({
      job: EchoJob,
      payload: payload as never,
      options: { runAt: null, expiresAt: null, delay: null } as never,
    });
    expect(job.runAt).toBeUndefined();
    expect(job.expiresAt).toBeUndefined();
  });

  it('checks a delay given with runAt, which wins over it', async () => {
    const runAt = Date.now() + 60_000;
    await refused({ delay: -5, runAt });
    await refused({ delay: Number.NaN, runAt });
    expect(
      dispatcher.build({ job: EchoJob, payload: payload as never, options: { delay: 5, runAt } }).runAt,
    ).toBe(runAt);
  });

  it('bounds maxTries at 1,000,000', async () => {
    await refused({ maxTries: 1e21 });
    await refused({ maxTries: 1_000_001 });
    expect(
      dispatcher.build({ job: EchoJob, payload: payload as never, options: { maxTries: 1_000_000 } })
        .maxTries,
    ).toBe(1_000_000);
  });
});
