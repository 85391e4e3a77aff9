/**
 * The queue commands run in-process through the kernel and the real command registry,
 * against real Redis: faster than spawning the binary, and able to fake the terminal
 * (TTY answers) and the signal source.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobs } from '../../../app/jobs/index.js';
import { commands } from '../../../bootstrap/console.js';
import appConfig from '../../../config/app.js';
import queueConfig from '../../../config/queue.js';
import { ExitCode, Kernel } from '../../../core/console/index.js';
import { Application, createLogger, Job, type JobContext, RedisQueueDriver } from '../../../core/index.js';
import { type CapturedIO, captureIO } from '../../unit/console/capture_io.js';
import { buildApplication, cliEnv, deletePrefix, uniquePrefix, waitFor } from './cli_harness.js';

/** Sleeps until done or aborted (worker shutdown), to be caught mid-run by a signal. */
class NapJob extends Job<{ ms: number }> {
  static override readonly jobName = 'NapJob';

  async handle({ ms }: { ms: number }, { signal }: JobContext): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
  }
}

const prefix = uniquePrefix();
const env = cliEnv(prefix, { QUEUE_SHUTDOWN_GRACE_MS: '200' });
let app: Application;
let queueNumber = 0;
const nextQueue = () => `${prefix}-q${++queueNumber}`;

beforeAll(() => {
  app = buildApplication(env);
});

afterAll(async () => {
  await app.close();
  await deletePrefix(prefix);
});

interface Run {
  io: CapturedIO;
  signals: EventEmitter;
  forceExit: ReturnType<typeof vi.fn>;
  exit: Promise<number>;
}

/**
 * Runs one command line in-process with a captured terminal; the application logs to `log`
 * when it is given (else nowhere).
 */
function run(argv: string[], options: { answer?: boolean; log?: Writable } = {}): Run {
  const io = captureIO(options.answer);
  const signals = new EventEmitter();
  const forceExit = vi.fn();
  const { log } = options;
  const kernel = new Kernel({
    commands,
    io,
    signals,
    forceExit,
    createApplication: () =>
      log
        ? new Application({
            app: appConfig.read(env),
            queue: queueConfig.read(env),
            jobs: [...jobs, NapJob],
            log: createLogger({ level: 'info', destination: log }),
          })
        : buildApplication(env, [NapJob]),
  });
  return { io, signals, forceExit, exit: kernel.handle(argv) };
}

/** Stores `count` failed jobs (an unregistered name, failed by a worker) in `queue`. */
async function failJobs(queue: string, ids: string[], expiresAt?: number): Promise<void> {
  await app.driver.push(
    ids.map((id) => ({ id, name: 'NoSuchJob', queue, payload: '{}', maxTries: 0, priority: 0, expiresAt })),
  );
  await app.createWorker({ queues: [queue], stopWhenEmpty: true, concurrency: ids.length }).run();
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('queue:failed', () => {
  it('prints a table of failed jobs with id, job, queue, attempts, failed_at and the error', async () => {
    const queue = nextQueue();
    await failJobs(queue, ['tbl-1']);
    const { io, exit } = run(['queue:failed', `--queue=${queue}`]);
    expect(await exit).toBe(0);
    const [header, , row] = io.out.split('\n');
    expect(header).toMatch(/^id\s+job\s+queue\s+attempts\s+failed_at\s+error$/);
    expect(row).toMatch(
      new RegExp(
        `^tbl-1\\s+NoSuchJob\\s+${queue}\\s+1\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+E_JOB_NOT_REGISTERED: `,
      ),
    );
    expect(io.out).toContain(
      `1 failed job shown; retry one with \`npx topiq queue:retry <id> --queue=${queue}\`.`,
    );
  });

  it('says when --limit cut the list off, on stderr with --json so stdout stays the array', async () => {
    const queue = nextQueue();
    await failJobs(queue, ['cut-1', 'cut-2', 'cut-3']);
    const table = run(['queue:failed', `--queue=${queue}`, '--limit=2']);
    expect(await table.exit).toBe(0);
    expect(table.io.out).toMatch(/2 failed jobs shown, more not shown \(raise --limit/);
    const json = run(['queue:failed', `--queue=${queue}`, '--limit=2', '--json']);
    expect(await json.exit).toBe(0);
    expect(JSON.parse(json.io.out)).toHaveLength(2);
    expect(json.io.err).toMatch(/^queue:failed: 2 failed jobs printed; more failed/);
    const all = run(['queue:failed', `--queue=${queue}`, '--limit=3']);
    expect(await all.exit).toBe(0);
    expect(all.io.out).toMatch(/3 failed jobs shown; retry one/);
  });
});

describe('queue:retry and queue:forget with several ids', () => {
  it('retry an id given twice once and exit 0, warning that the app registers no class of its name', async () => {
    const queue = nextQueue();
    await failJobs(queue, ['rb-1']);
    const retry = run(['queue:retry', 'rb-1', 'rb-1', `--queue=${queue}`]);
    expect(await retry.exit).toBe(0);
    expect(retry.io.err).toBe(
      'warning: this app registers no job class named NoSuchJob: unless the workers that take these jobs ' +
        'register it, they fail them again at once with E_JOB_NOT_REGISTERED\n',
    );
    expect(retry.io.out).toBe('Pushed 1 failed job back onto its queue.\n');
    expect(await app.driver.counts(queue)).toMatchObject({ failed: 0, waiting: 1 });
  });

  it('says a job retried already is queued, not failed, when it is retried again', async () => {
    const queue = nextQueue();
    await failJobs(queue, ['ra-1']);
    expect(await run(['queue:retry', 'ra-1', `--queue=${queue}`]).exit).toBe(0);
    const again = run(['queue:retry', 'ra-1', `--queue=${queue}`]);
    expect(await again.exit).toBe(ExitCode.failure);
    expect(again.io.err).toMatch(
      /^error E_JOB_NOT_FOUND: job ra-1 is queued, not failed \(retried already\?\)/,
    );
  });

  it('leaves failed a job past its expiresAt: refused by id (E_JOB_STATE), passed over and named by all', async () => {
    const queue = nextQueue();
    await failJobs(queue, ['late-1'], Date.now() + 300);
    await failJobs(queue, ['ok-1']);
    await waitFor(
      async () => (await app.driver.now()) > (await app.driver.getJob(queue, 'late-1'))!.expiresAt!,
    );
    const named = run(['queue:retry', 'late-1', 'ok-1', `--queue=${queue}`]);
    expect(await named.exit).toBe(ExitCode.failure);
    expect(named.io.err).toMatch(
      /^error E_JOB_STATE: job late-1 is past its expiresAt \(.+\), so no job was retried/,
    );
    expect(await app.driver.counts(queue)).toMatchObject({ failed: 2, waiting: 0 });
    const all = run(['queue:retry', 'all', `--queue=${queue}`]);
    expect(await all.exit).toBe(0);
    expect(all.io.out).toBe('Pushed 1 failed job back onto its queue.\n');
    expect(all.io.err).toMatch(/^1 failed job stayed failed, past its expiresAt .*: late-1\. Delete them/m);
    expect(await app.driver.getJob(queue, 'late-1')).toMatchObject({
      status: 'failed',
      error: { code: 'E_JOB_NOT_REGISTERED' },
    });
  });

  it.each(['queue:retry', 'queue:forget'])(
    '%s exits 1 naming what another retry or forget took between its lookup and its change',
    async (command) => {
      const queue = nextQueue();
      await failJobs(queue, ['race-1', 'race-2']);
      // another operator's forget lands between this command's lookup and its change (the
      // command builds an application of its own: its driver is spied on through the class)
      const { retryFailed, removeFailed } = RedisQueueDriver.prototype;
      const forgetRace2 = (driver: RedisQueueDriver, name: string) =>
        removeFailed.call(driver, name, { ids: ['race-2'] });
      vi.spyOn(RedisQueueDriver.prototype, 'retryFailed').mockImplementation(async function (
        this: RedisQueueDriver,
        name,
        selection,
        onMoved,
      ) {
        await forgetRace2(this, name);
        return retryFailed.call(this, name, selection, onMoved);
      });
      vi.spyOn(RedisQueueDriver.prototype, 'removeFailed').mockImplementation(async function (
        this: RedisQueueDriver,
        name,
        selection,
      ) {
        await forgetRace2(this, name);
        return removeFailed.call(this, name, selection);
      });
      const { io, exit } = run([command, 'race-1', 'race-2', `--queue=${queue}`]);
      expect(await exit).toBe(ExitCode.failure);
      expect(io.err).toMatch(
        /1 job was no longer failed when (retried|deleted) \(another retry or forget got there first\)/,
      );
      if (command === 'queue:retry') expect(io.err).toMatch(/not retried here: race-2$/m);
      expect(await app.driver.counts(queue)).toMatchObject({ failed: 0 });
    },
  );

  it.each(['queue:retry', 'queue:forget'])(
    '%s changes nothing when an id is unknown and names every unknown id',
    async (command) => {
      const queue = nextQueue();
      await failJobs(queue, ['rb-2', 'rb-3']);
      const { io, exit } = run([command, 'rb-2', 'no-such-id', 'rb-3', 'other-id', `--queue=${queue}`]);
      expect(await exit).toBe(ExitCode.failure);
      expect(io.err).toMatch(
        new RegExp(
          `^error E_JOB_NOT_FOUND: no failed jobs have ids no-such-id, other-id in queue "${queue}", so no job was`,
        ),
      );
      expect(io.err.trimEnd().split('\n')).toHaveLength(1);
      expect(await app.driver.counts(queue)).toMatchObject({ failed: 2, waiting: 0 });
    },
  );

  it('forget ids across queues in one go without --queue', async () => {
    const first = nextQueue();
    const second = nextQueue();
    await failJobs(first, ['fa-1', 'fa-2']);
    await failJobs(second, ['fb-1']);
    const { io, exit } = run(['queue:forget', 'fa-1', 'fb-1', 'fa-1']);
    expect(await exit).toBe(0);
    expect(io.out).toBe('Deleted 2 failed jobs.\n');
    expect(await app.driver.counts(first)).toMatchObject({ failed: 1 });
    expect(await app.driver.counts(second)).toMatchObject({ failed: 0 });
  });
});

describe('queue:forget and queue:prune-failed', () => {
  it('deletes failed jobs by id, reports an unknown id with E_JOB_NOT_FOUND, and prunes the rest', async () => {
    const queue = nextQueue();
    await failJobs(queue, ['fg-1', 'fg-2', 'fg-3']);

    const forget = run(['queue:forget', 'fg-1', `--queue=${queue}`]);
    expect(await forget.exit).toBe(0);
    expect(forget.io.out).toBe('Deleted 1 failed job.\n');

    const missing = run(['queue:forget', 'fg-1', `--queue=${queue}`]);
    expect(await missing.exit).toBe(ExitCode.failure);
    expect(missing.io.err).toMatch(
      new RegExp(`^error E_JOB_NOT_FOUND: no failed job has id fg-1 in queue "${queue}"`),
    );

    const keep = run(['queue:prune-failed', `--queue=${queue}`]);
    expect(await keep.exit).toBe(0);
    expect(keep.io.out).toBe('Deleted 0 failed jobs older than 24 hours.\n');

    const prune = run(['queue:prune-failed', '--hours=0', `--queue=${queue}`]);
    expect(await prune.exit).toBe(0);
    expect(prune.io.out).toBe('Deleted 2 failed jobs older than 0 hours.\n');
    expect(await app.driver.counts(queue)).toMatchObject({ failed: 0 });
  });

  it("measures --hours on Redis's clock, which stamped the failures, not on this process's", async () => {
    const queue = nextQueue();
    await failJobs(queue, ['pc-1', 'pc-2']);
    const now = Date.now;
    try {
      // this process's clock two hours ahead: the jobs that failed just now are not an hour old
      Date.now = () => now() + 2 * 3600_000;
      const ahead = run(['queue:prune-failed', '--hours=1', `--queue=${queue}`]);
      expect(await ahead.exit).toBe(0);
      expect(ahead.io.out).toBe('Deleted 0 failed jobs older than 1 hour.\n');
      // and two hours behind: they still failed before now
      Date.now = () => now() - 2 * 3600_000;
      const behind = run(['queue:prune-failed', '--hours=0', `--queue=${queue}`]);
      expect(await behind.exit).toBe(0);
      expect(behind.io.out).toBe('Deleted 2 failed jobs older than 0 hours.\n');
    } finally {
      Date.now = now;
    }
  });
});

describe('queue:flush', () => {
  it('deletes every failed job of a queue', async () => {
    const queue = nextQueue();
    await failJobs(queue, ['fl-1', 'fl-2']);
    const { io, exit } = run(['queue:flush', `--queue=${queue}`]);
    expect(await exit).toBe(0);
    expect(io.out).toBe('Deleted 2 failed jobs.\n');
  });
});

describe('queue:size', () => {
  it('prints waiting, delayed, running, pending, failed and completed per queue as a table or JSON', async () => {
    const queue = nextQueue();
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'a@example.com', subject: 's', body: '' },
      { queue },
    );
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'a@example.com', subject: 's', body: '' },
      {
        queue,
        delay: 60,
      },
    );

    const table = run(['queue:size', `--queue=${queue}`]);
    expect(await table.exit).toBe(0);
    expect(table.io.out.split('\n')[0]).toMatch(
      /^queue\s+waiting\s+delayed\s+running\s+pending\s+failed\s+completed$/,
    );

    const json = run(['queue:size', '--json']);
    expect(await json.exit).toBe(0);
    const sizes = JSON.parse(json.io.out) as { queue: string }[];
    expect(sizes.find((size) => size.queue === queue)).toEqual({
      queue,
      waiting: 1,
      delayed: 1,
      running: 0,
      pending: 0,
      failed: 0,
      completed: 0,
    });
  });
});

describe('queue:clear', () => {
  async function queueWithJobs(): Promise<string> {
    const queue = nextQueue();
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'a@example.com', subject: 's', body: '' },
      { queue },
    );
    return queue;
  }

  it('refuses without --force when stdin is not a terminal, with exit code 2', async () => {
    const queue = await queueWithJobs();
    const { io, exit } = run(['queue:clear', `--queue=${queue}`]);
    expect(await exit).toBe(ExitCode.usage);
    expect(io.err).toMatch(/stdin is not a terminal to confirm it: pass --force/);
    expect(await app.driver.counts(queue)).toMatchObject({ waiting: 1 });
  });

  it('asks at a terminal and, when the answer is no, deletes nothing and exits 0', async () => {
    const queue = await queueWithJobs();
    const { io, exit } = run(['queue:clear', `--queue=${queue}`], { answer: false });
    expect(await exit).toBe(ExitCode.ok);
    expect(io.questions).toEqual([`Delete every waiting and delayed job of queue "${queue}"?`]);
    expect(io.out).toBe('Nothing deleted.\n');
    expect(await app.driver.counts(queue)).toMatchObject({ waiting: 1 });
  });

  it('does not ask about a queue no job was ever pushed to: it fails with E_QUEUE_NOT_FOUND', async () => {
    const { io, exit } = run(['queue:clear', `--queue=${prefix}-nosuch`], { answer: true });
    expect(await exit).toBe(ExitCode.failure);
    expect(io.questions).toEqual([]);
    expect(io.err).toMatch(new RegExp(`^error E_QUEUE_NOT_FOUND: no queue is named "${prefix}-nosuch"`));
  });

  it('clears after a yes, or at once with --force', async () => {
    const asked = await queueWithJobs();
    const yes = run(['queue:clear', `--queue=${asked}`], { answer: true });
    expect(await yes.exit).toBe(0);
    expect(yes.io.out).toBe(`Deleted 1 job from queue "${asked}".\n`);

    const forced = await queueWithJobs();
    const force = run(['queue:clear', `--queue=${forced}`, '--force']);
    expect(await force.exit).toBe(0);
    expect(force.io.questions).toEqual([]);
    expect(await app.driver.counts(forced)).toMatchObject({ waiting: 0 });
  });
});

describe('commands given a queue no job was ever pushed to', () => {
  const unknown = `${prefix}-nosuch`;

  it.each([
    ['queue:stats', `--queue=${unknown}`],
    ['queue:stats', `--queue=${prefix}-known,${unknown}`],
    ['queue:size', `--queue=${unknown}`],
    ['queue:clear', `--queue=${unknown}`, '--force'],
    ['queue:failed', `--queue=${unknown}`],
    ['queue:retry', 'all', `--queue=${unknown}`],
    ['queue:retry', 'some-id', `--queue=${unknown}`],
    ['queue:forget', 'some-id', `--queue=${unknown}`],
    ['queue:flush', `--queue=${unknown}`],
    ['queue:prune-failed', `--queue=${unknown}`],
    ['job:list', `--queue=${unknown}`],
    ['job:show', 'some-id', `--queue=${unknown}`],
    ['job:cancel', 'some-id', `--queue=${unknown}`],
    ['job:release', 'some-id', `--queue=${unknown}`],
  ])('%s %s fails with E_QUEUE_NOT_FOUND naming it and the queues there are', async (...argv) => {
    const known = `${prefix}-known`;
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'a@example.com', subject: 's', body: '' },
      { queue: known },
    );
    const { io, exit } = run(argv);
    expect(await exit).toBe(ExitCode.failure);
    expect(io.out).toBe('');
    const [line, ...rest] = io.err.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(line).toMatch(
      new RegExp(`^error E_QUEUE_NOT_FOUND: no queue is named "${unknown}": no job was ever pushed to it; `),
    );
    // the operator sees the name they meant among those listed
    expect(line).toMatch(/; the queues are "/);
    expect(line).toContain(`"${known}"`);
    expect(line).not.toContain(`"${unknown}",`);
  });

  it('still lets a worker serve it (its first job may come later)', async () => {
    const queue = nextQueue();
    const { io, exit } = run(['queue:work', `--queue=${queue}`, '--stop-when-empty']);
    expect(await exit).toBe(ExitCode.ok);
    expect(io.err).not.toContain('E_QUEUE_NOT_FOUND');
  });
});

describe('queue:work --prefetch', () => {
  it('holds that many jobs reserved ahead of its one slot', async () => {
    const queue = nextQueue();
    const nap = (id: string) => ({
      id,
      name: 'NapJob',
      queue,
      payload: '{"ms":30000}',
      maxTries: 0,
      priority: 0,
    });
    await app.driver.push([nap('nap-a'), nap('nap-b'), nap('nap-c')]);
    // left to decide, a worker that has timed no job holds none ahead (running stays 1)
    const worker = run(['queue:work', `--queue=${queue}`, '--concurrency=1', '--prefetch=1']);
    await waitFor(async () => (await app.driver.counts(queue)).running === 2);
    expect(await app.driver.counts(queue)).toMatchObject({ running: 2, waiting: 1 });
    worker.signals.emit('SIGTERM', 'SIGTERM');
    expect(await worker.exit).toBe(0);
    expect(await app.driver.counts(queue)).toMatchObject({ running: 0, waiting: 3 });
  });
});

describe('queue:work signals', () => {
  it('stops on SIGTERM, releases a job still running after the grace period, and exits 0', async () => {
    const queue = nextQueue();
    await app.driver.push([
      { id: 'nap-1', name: 'NapJob', queue, payload: '{"ms":30000}', maxTries: 0, priority: 0 },
    ]);
    const worker = run(['queue:work', `--queue=${queue}`]);
    await waitFor(async () => (await app.driver.counts(queue)).running === 1);
    worker.signals.emit('SIGTERM', 'SIGTERM');
    expect(await worker.exit).toBe(0);
    expect(worker.forceExit).not.toHaveBeenCalled();
    expect(await app.driver.counts(queue)).toMatchObject({ waiting: 1, running: 0 });
    expect(worker.signals.listenerCount('SIGTERM')).toBe(0);
    expect(worker.signals.listenerCount('SIGINT')).toBe(0);
  });

  it('stops gracefully and exits 1 on an error no code handled, logged at fatal, and a second one too', async () => {
    const queue = nextQueue();
    await app.driver.push([
      { id: 'nap-crash', name: 'NapJob', queue, payload: '{"ms":30000}', maxTries: 0, priority: 0 },
    ]);
    const lines: Record<string, unknown>[] = [];
    const log = new Writable({
      write: (chunk, _encoding, done) => {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const worker = run(['queue:work', `--queue=${queue}`], { log });
    await waitFor(async () => (await app.driver.counts(queue)).running === 1);
    // a job's `void promise` that rejected, as Node reports it
    worker.signals.emit('unhandledRejection', new Error('floating rejection in a job'));
    worker.signals.emit('uncaughtException', new Error('and a throw in a timer'));
    expect(await worker.exit).toBe(1);
    // errors come in bursts: the second is logged, and the stop goes on
    expect(worker.forceExit).not.toHaveBeenCalled();
    expect(lines.find((line) => line.event === 'process.uncaught_exception')).toMatchObject({ level: 50 });
    expect(lines.find((line) => line.event === 'process.unhandled_rejection')).toMatchObject({
      level: 60,
      err: { message: 'floating rejection in a job' },
    });
    // stopped as on SIGTERM: the running job handed back, not left to its lease
    expect(await app.driver.counts(queue)).toMatchObject({ waiting: 1, running: 0 });
    expect(worker.signals.listenerCount('unhandledRejection')).toBe(0);
    expect(worker.signals.listenerCount('uncaughtException')).toBe(0);
  });

  it('stops as on SIGTERM when its log reader goes, and takes a Ctrl-C after it for no second signal', async () => {
    const queue = nextQueue();
    await app.driver.push([
      { id: 'nap-3', name: 'NapJob', queue, payload: '{"ms":30000}', maxTries: 0, priority: 0 },
    ]);
    const log = new Writable({ write: (_chunk, _encoding, done) => done() });
    const worker = run(['queue:work', `--queue=${queue}`], { log });
    await waitFor(async () => (await app.driver.counts(queue)).running === 1);
    // a write to a pipe whose reader exited (`| head -n 3`), as Node reports it
    log.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' }));
    worker.signals.emit('SIGINT', 'SIGINT');
    expect(await worker.exit).toBe(0);
    expect(worker.forceExit).not.toHaveBeenCalled();
    // the job still running after the grace period is handed back, not left leased
    expect(await app.driver.counts(queue)).toMatchObject({ waiting: 1, running: 0 });
    expect(log.listenerCount('error')).toBe(0);
  });

  it('forces exit code 1 on a second signal', async () => {
    const queue = nextQueue();
    await app.driver.push([
      { id: 'nap-2', name: 'NapJob', queue, payload: '{"ms":30000}', maxTries: 0, priority: 0 },
    ]);
    const worker = run(['queue:work', `--queue=${queue}`]);
    await waitFor(async () => (await app.driver.counts(queue)).running === 1);
    worker.signals.emit('SIGINT', 'SIGINT');
    worker.signals.emit('SIGINT', 'SIGINT');
    expect(worker.forceExit).toHaveBeenCalledWith(1);
    await worker.exit; // the fake forceExit returns, so the graceful stop still completes
  });
});
