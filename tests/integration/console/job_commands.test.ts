/**
 * The job-steering and monitoring commands (`job:*`, `queue:workers`, `queue:stats`) run
 * in-process through the kernel and the real command registry, against real Redis under
 * a key prefix of their own, with a fresh queue per test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../../app/jobs/index.js';
import { commands } from '../../../bootstrap/console.js';
import { ExitCode, Kernel } from '../../../core/console/index.js';
import { type Application, Job, type JobContext } from '../../../core/index.js';
import type { JobOutput } from '../../../core/console/commands/job_formatting.js';
import type { WorkerOutput } from '../../../core/console/commands/queue_workers_command.js';
import type { JobStatus, QueueStats } from '../../../core/queue/driver.js';
import { captureIO } from '../../unit/console/capture_io.js';
import { buildApplication, cliEnv, deletePrefix, uniquePrefix, waitFor } from './cli_harness.js';

/** Waits until aborted, so it can be cancelled while running. */
class WaitForCancelJob extends Job<Record<string, never>> {
  static override readonly jobName = 'WaitForCancelJob';

  async handle(_payload: Record<string, never>, { signal }: JobContext): Promise<void> {
    await new Promise<void>((_resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('was not cancelled within 10 s')), 10_000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
  }
}

const prefix = uniquePrefix();
const env = cliEnv(prefix);
const EMAIL = JSON.stringify({ to: 'ops@example.com', subject: 'hello', body: '' });
let app: Application;
let queueNumber = 0;
const nextQueue = () => `${prefix}-q${++queueNumber}`;

beforeAll(() => {
  app = buildApplication(env, [WaitForCancelJob]);
});

afterAll(async () => {
  await app.close();
  await deletePrefix(prefix);
});

/** Runs one command line in-process with a captured terminal; resolves when it ends. */
async function run(argv: string[], under = env): Promise<{ code: number; out: string; err: string }> {
  const io = captureIO();
  const kernel = new Kernel({
    commands,
    io,
    createApplication: () => buildApplication(under, [WaitForCancelJob]),
  });
  const code = await kernel.handle(argv);
  return { code, out: io.out, err: io.err };
}

/** `job:show <id> --json`, parsed. */
async function show(id: string): Promise<JobOutput> {
  const { code, out, err } = await run(['job:show', id, '--json']);
  expect(err).toBe('');
  expect(code).toBe(0);
  return JSON.parse(out) as JobOutput;
}

describe('job:dispatch and job:show', () => {
  it('dispatches a registered app job by name, prints its id, and job:show shows it queued', async () => {
    const queue = nextQueue();
    const dispatched = await run(['job:dispatch', 'SendEmailJob', '--payload', EMAIL, `--queue=${queue}`]);
    expect(dispatched.err).toBe('');
    expect(dispatched.code).toBe(0);
    const id = dispatched.out.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const text = await run(['job:show', id]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(new RegExp(`^id: +${id}$`, 'm'));
    expect(text.out).toMatch(/^status: +queued$/m);
    expect(text.out).toMatch(/^attempts: +0\/5$/m);
    expect(text.out).toMatch(/^created: +\d{4}-\d\d-\d\dT\S+Z$/m);
    expect(text.out).toContain(`payload:    ${EMAIL}`);

    expect(await show(id)).toMatchObject({
      id,
      name: 'SendEmailJob',
      queue,
      status: 'queued',
      attempts: 0,
      maxTries: 5,
      startedAt: null,
      payload: JSON.parse(EMAIL),
    });
  });

  it('prints {id, name, queue, duplicate} with --json, using the job class queue when --queue is absent', async () => {
    const jobId = `${prefix}-own-id`;
    const { code, out } = await run([
      'job:dispatch',
      'SendEmailJob',
      '--payload',
      EMAIL,
      `--job-id=${jobId}`,
      '--json',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ id: jobId, name: 'SendEmailJob', queue: 'emails', duplicate: false });
    await run(['job:cancel', jobId]);
  });

  it('says that a --job-id already in the queue added nothing, and exits 0', async () => {
    const queue = nextQueue();
    const jobId = `${prefix}-dup`;
    const dispatch = (...extra: string[]) =>
      run([
        'job:dispatch',
        'SendEmailJob',
        '--payload',
        EMAIL,
        `--queue=${queue}`,
        `--job-id=${jobId}`,
        ...extra,
      ]);
    expect(await dispatch()).toEqual({ code: 0, out: `${jobId}\n`, err: '' });

    const again = await dispatch();
    // stdout stays what scripts read, the id or the object; the words go to stderr
    expect(again).toEqual({
      code: 0,
      out: `${jobId}\n`,
      err: `job ${jobId} already exists in queue "${queue}": nothing added\n`,
    });
    const json = await dispatch('--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ id: jobId, name: 'SendEmailJob', queue, duplicate: true });
    expect(json.err).toBe(`job ${jobId} already exists in queue "${queue}": nothing added\n`);
    expect(await app.driver.counts(queue)).toMatchObject({ waiting: 1 });
  });

  it("rejects a payload that fails the job's schema with E_INVALID_PAYLOAD and the reason, storing nothing", async () => {
    const queue = nextQueue();
    const { code, out, err } = await run([
      'job:dispatch',
      'SendEmailJob',
      '--payload={"to":"not-an-address","subject":"hi","body":""}',
      `--queue=${queue}`,
    ]);
    expect(code).toBe(ExitCode.failure);
    expect(out).toBe('');
    expect(err).toMatch(/^error E_INVALID_PAYLOAD: payload for SendEmailJob does not match its schema: to: /);
    expect(await app.driver.counts(queue)).toMatchObject({ waiting: 0 });
  });

  it('rejects an unknown job name with E_JOB_NOT_REGISTERED, listing the known jobs', async () => {
    const { code, err } = await run(['job:dispatch', 'NoSuchJob']);
    expect(code).toBe(ExitCode.failure);
    expect(err).toMatch(/^error E_JOB_NOT_REGISTERED: no job is registered as "NoSuchJob"/);
    // the app's own jobs, whatever a user added to app/jobs
    const known = jobs.map((job) => job.jobName).sort();
    expect(known).toContain('SendEmailJob');
    expect(err).toContain(`known: ${known.join(', ')}`);
  });

  it('rejects --payload that is not JSON with exit code 2', async () => {
    const { code, err } = await run(['job:dispatch', 'SendEmailJob', '--payload', "{to:'x'}"]);
    expect(code).toBe(ExitCode.usage);
    expect(err).toMatch(/^error E_CLI_USAGE: .*The payload is not JSON/);
  });

  it('dispatches the JSON payload null as null, not as an empty string', async () => {
    const queue = nextQueue();
    const { code, out } = await run([
      'job:dispatch',
      'WaitForCancelJob',
      '--payload',
      'null',
      `--queue=${queue}`,
    ]);
    expect(code).toBe(0);
    expect(await show(out.trim())).toMatchObject({ payload: null });
    await app.driver.clear(queue);
  });

  it('refuses, naming the queues, an id found in more than one when no --queue says which', async () => {
    const [first, second] = [nextQueue(), nextQueue()];
    const jobId = `${prefix}-twice`;
    for (const queue of [first, second])
      await run([
        'job:dispatch',
        'SendEmailJob',
        '--payload',
        EMAIL,
        `--queue=${queue}`,
        `--job-id=${jobId}`,
      ]);
    for (const command of ['job:show', 'job:cancel', 'job:release']) {
      const { code, err } = await run([command, jobId]);
      expect(code).toBe(ExitCode.failure);
      expect(err).toMatch(new RegExp(`^error E_JOB_AMBIGUOUS: job ${jobId} is in more than one queue \\(`));
      expect(err).toContain(`"${first}"`);
      expect(err).toContain(`"${second}"`);
      expect(err).toContain('name the one you mean (--queue=<name> on the command line)');
    }
    expect(await run(['job:cancel', jobId, `--queue=${second}`])).toMatchObject({
      code: 0,
      out: 'cancelled\n',
    });
    expect(await app.jobs.find(jobId, first)).toMatchObject({ status: 'queued' });
    await app.driver.clear(first);
  });

  it('reports an unknown id with E_JOB_NOT_FOUND and exit code 1', async () => {
    for (const command of ['job:show', 'job:cancel', 'job:release']) {
      const { code, err } = await run([command, `${prefix}-missing`]);
      expect(code).toBe(ExitCode.failure);
      expect(err).toMatch(new RegExp(`^error E_JOB_NOT_FOUND: no job has id ${prefix}-missing`));
    }
  });
});

describe('job:release', () => {
  it('releases a job dispatched with --hold into its queue and prints its new status', async () => {
    const queue = nextQueue();
    const dispatched = await run([
      'job:dispatch',
      'SendEmailJob',
      '--payload',
      EMAIL,
      `--queue=${queue}`,
      '--hold',
    ]);
    const id = dispatched.out.trim();
    expect(await show(id)).toMatchObject({ status: 'pending', queuedAt: null });
    expect(await app.driver.counts(queue)).toMatchObject({ pending: 1, waiting: 0 });

    const released = await run(['job:release', id, `--queue=${queue}`]);
    expect(released).toMatchObject({ code: 0, out: 'queued\n' });
    expect(await show(id)).toMatchObject({ status: 'queued' });

    const again = await run(['job:release', id]);
    expect(again.code).toBe(ExitCode.failure);
    expect(again.err).toMatch(/^error E_JOB_STATE: cannot release job .*: it is queued/);
  });
});

describe('job:cancel and job:list', () => {
  it('cancels a queued job, lists it under --status=cancelled, and refuses to cancel it again', async () => {
    const queue = nextQueue();
    const id = (
      await run(['job:dispatch', 'SendEmailJob', '--payload', EMAIL, `--queue=${queue}`])
    ).out.trim();
    const other = (
      await run(['job:dispatch', 'SendEmailJob', '--payload', EMAIL, `--queue=${queue}`])
    ).out.trim();

    expect(await run(['job:cancel', id])).toMatchObject({ code: 0, out: 'cancelled\n', err: '' });

    const cancelled = await run(['job:list', '--status=cancelled', `--queue=${queue}`, '--json']);
    expect(cancelled.code).toBe(0);
    const listed = JSON.parse(cancelled.out) as JobOutput[];
    expect(listed.map((job) => [job.id, job.status])).toEqual([[id, 'cancelled']]);
    expect(listed[0]!.finishedAt).toMatch(/Z$/);

    const table = await run(['job:list', `--queue=${queue}`]);
    const [header, , ...rows] = table.out.split('\n');
    expect(header).toMatch(/^id\s+name\s+queue\s+status\s+attempts\s+progress\s+created\s+worker$/);
    expect(rows.find((row) => row.startsWith(other))).toMatch(
      new RegExp(`^${other}\\s+SendEmailJob\\s+${queue}\\s+queued\\s+0/5\\s+0%\\s+\\d{4}-\\S+Z$`),
    );
    expect(rows.find((row) => row.startsWith(id))).toMatch(/\scancelled\s/);

    const limited = JSON.parse((await run(['job:list', `--queue=${queue}`, '--limit=1', '--json'])).out);
    expect(limited).toHaveLength(1);

    const again = await run(['job:cancel', id]);
    expect(again.code).toBe(ExitCode.failure);
    expect(again.err).toMatch(/^error E_JOB_STATE: cannot cancel job .*: it is cancelled/);
  });

  it('requests the cancel of a running job, which then ends cancelled', async () => {
    const queue = nextQueue();
    const id = (await run(['job:dispatch', 'WaitForCancelJob', `--queue=${queue}`])).out.trim();
    // A short lease: the worker then also sees the cancel on its next lease renewal
    // (every 500 ms), should the Pub/Sub notice be lost when the command's connection closes.
    const worker = app.createWorker({ queues: [queue], stopWhenEmpty: true, sleep: 0.1, leaseMs: 1500 });
    const stopped = worker.run();
    await waitFor(async () => (await app.driver.counts(queue)).running === 1);

    const { code, out } = await run(['job:cancel', id, `--queue=${queue}`]);
    expect(code).toBe(0);
    expect(out).toBe('cancel requested (running; its AbortSignal fires and it ends cancelled)\n');
    await stopped;
    expect(await show(id)).toMatchObject({ status: 'cancelled', attempts: 1 });
  });
});

describe('job:list across queues', () => {
  it('lists the running jobs of every queue before the waiting ones of any, and says when more are not shown', async () => {
    const own = uniquePrefix();
    const ownApp = buildApplication(cliEnv(own), [WaitForCancelJob]);
    try {
      const [first, last] = [`${own}-a`, `${own}-b`];
      for (const value of [1, 2, 3])
        await ownApp.dispatcher.dispatchByName('WaitForCancelJob', {}, { queue: first, jobId: `a${value}` });
      await ownApp.dispatcher.dispatchByName('WaitForCancelJob', {}, { queue: last, jobId: 'b-running' });
      const options = { count: 1, leaseMs: 30_000, worker: 'w', defaultMaxTries: 1 };
      expect((await ownApp.driver.reserve(last, options)).jobs.map((job) => job.id)).toEqual(['b-running']);

      const listed = await run(['job:list', '--limit=2'], cliEnv(own));
      expect(listed.code).toBe(0);
      const rows = listed.out.split('\n').slice(2, 4);
      expect(rows[0]).toMatch(new RegExp(`^b-running\\s+WaitForCancelJob\\s+${last}\\s+running\\s`));
      expect(rows[1]).toMatch(/^a1\s.*\squeued\s/);
      expect(listed.out).toContain(
        '2 jobs shown, more not shown (raise --limit, or filter by --queue or --status)',
      );

      const all = await run(['job:list', '--limit=4'], cliEnv(own));
      expect(all.out).toContain('4 jobs shown; see one');
      const cut = await run(['job:list', '--limit=3', '--json'], cliEnv(own));
      const json = JSON.parse(cut.out) as JobOutput[];
      expect(json.map((job) => job.id)).toEqual(['b-running', 'a1', 'a2']);
      expect(cut.err).toBe(
        'job:list: 3 jobs printed; more match (raise --limit, or filter by --queue or --status)\n',
      );
      expect((await run(['job:list', '--limit=4', '--json'], cliEnv(own))).err).toBe('');
    } finally {
      await ownApp.close();
      await deletePrefix(own);
    }
  });

  it('lists only the jobs of one name with --name, and says when no job type has that name', async () => {
    const queue = nextQueue();
    await app.dispatcher.dispatchByName('WaitForCancelJob', {}, { queue, jobId: 'wait-1' });
    await app.dispatcher.dispatchByName('SendEmailJob', JSON.parse(EMAIL), { queue, jobId: 'mail-1' });
    await app.dispatcher.dispatchByName('WaitForCancelJob', {}, { queue, jobId: 'wait-2' });

    const listed = await run(['job:list', `--queue=${queue}`, '--name=WaitForCancelJob', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.out) as JobOutput[]).map((job) => job.id)).toEqual(['wait-1', 'wait-2']);
    const table = await run(['job:list', `--queue=${queue}`, '--name=SendEmailJob']);
    expect(table.out).toMatch(/^mail-1\s+SendEmailJob\s/m);
    expect(table.out).toContain('1 job shown; see one');

    const none = await run(['job:list', `--queue=${queue}`, '--name=SendEmailJob', '--status=failed']);
    expect(none.out).toBe(`No failed jobs named SendEmailJob in queue "${queue}".\n`);
    const typo = await run(['job:list', `--queue=${queue}`, '--name=SendEmailJb']);
    expect(typo.out).toBe(
      `No jobs named SendEmailJb in queue "${queue}". No job type of that name is registered here ` +
        '(`npx topiq job:types` lists them).\n',
    );
    const bad = await run(['job:list', '--name=9 lives']);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.err).toContain('job name "9 lives" is not allowed');
    expect(bad.err).toContain('`npx topiq job:types` lists the registered names');
  });

  it("dispatches with --owner and --description, shows them, and lists one owner's jobs with --owner", async () => {
    const queue = nextQueue();
    const labelled = await run([
      'job:dispatch',
      'WaitForCancelJob',
      `--queue=${queue}`,
      '--owner=sensor-17',
      '--description=Recalibrate after the firmware update',
    ]);
    expect(labelled.err).toBe('');
    const id = labelled.out.trim();
    await run(['job:dispatch', 'WaitForCancelJob', `--queue=${queue}`, '--owner=sensor-18']);
    expect(await show(id)).toMatchObject({
      owner: 'sensor-17',
      description: 'Recalibrate after the firmware update',
    });
    const text = await run(['job:show', id]);
    expect(text.out).toMatch(/^owner: +sensor-17$/m);
    expect(text.out).toMatch(/^description: +Recalibrate after the firmware update$/m);

    const listed = await run(['job:list', `--queue=${queue}`, '--owner=sensor-17']);
    expect(listed.out.split('\n')[0]).toMatch(/\sowner$/);
    expect(listed.out).toMatch(new RegExp(`^${id}\\s.*\\ssensor-17$`, 'm'));
    expect(listed.out).toContain('1 job shown; see one');
    const none = await run(['job:list', `--queue=${queue}`, '--owner=sensor-99']);
    expect(none.out).toBe(`No jobs for owner sensor-99 in queue "${queue}".\n`);

    // cut by --limit: a filter says more *may* match, as it reads a bounded number of records
    await run(['job:dispatch', 'WaitForCancelJob', `--queue=${queue}`, '--owner=sensor-17']);
    const cut = await run(['job:list', `--queue=${queue}`, '--owner=sensor-17', '--limit=1']);
    expect(cut.out).toContain(
      '1 job shown, more may match (raise --limit, or filter by --queue or --status; --name and --owner read up to 10000 records in all)',
    );
    const cutJson = await run(['job:list', `--queue=${queue}`, '--owner=sensor-17', '--limit=1', '--json']);
    expect(JSON.parse(cutJson.out)).toHaveLength(1);
    expect(cutJson.err).toBe(
      'job:list: 1 job printed; more may match (raise --limit, or filter by --queue or --status)\n',
    );

    const bad = await run(['job:dispatch', 'WaitForCancelJob', `--queue=${queue}`, '--owner=a\tb']);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.err).toContain(
      'owner must be 1 to 128 characters of text without control, invisible or line-break characters',
    );
  });

  it('refuses an unknown status or a limit out of range, from the CLI and from app.jobs.list', async () => {
    const tooMany = await run(['job:list', '--limit=20000']);
    expect(tooMany.code).toBe(ExitCode.usage);
    expect(tooMany.err).toContain('--limit 20000 is more than 10000');
    for (const options of [
      { limit: 0 },
      { limit: 1.5 },
      { limit: 20_000 },
      { status: 'done' as JobStatus },
    ]) {
      await expect(app.jobs.list(options)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
    }
  });
});

describe('queue:workers', () => {
  it('lists a live worker with its queues and heartbeat, and no longer lists it once it stops', async () => {
    const queue = nextQueue();
    const worker = app.createWorker({ queues: [queue], concurrency: 3, heartbeatMs: 100, sleep: 0.1 });
    const stopped = worker.run();
    const listedWorker = async () => {
      const { out } = await run(['queue:workers', '--json']);
      return (JSON.parse(out) as WorkerOutput[]).find((entry) => entry.id === worker.name);
    };
    await waitFor(async () => (await listedWorker()) !== undefined);
    const listed = await listedWorker();
    expect(listed).toMatchObject({ pid: process.pid, queues: [queue], concurrency: 3, runningJobIds: [] });
    expect(listed!.heartbeatAgeMs).toBeLessThan(1000);

    const table = await run(['queue:workers']);
    expect(table.out.split('\n')[0]).toMatch(
      /^id\s+host\s+pid\s+queues\s+concurrency\s+running\s+started\s+heartbeat$/,
    );
    expect(table.out).toMatch(
      new RegExp(`${worker.name}\\s.*\\s${queue}\\s+3\\s+0\\s+\\S+Z \\(up [\\d.]+s\\)\\s+[\\d.]+s ago`),
    );

    await worker.shutdown();
    await stopped;
    expect(await listedWorker()).toBeUndefined();
  });
});

describe('queue:stats', () => {
  it('shows waiting counts and the oldest wait, then completions in the last minute once a worker ran them', async () => {
    const queue = nextQueue();
    for (let i = 0; i < 3; i++) {
      await run(['job:dispatch', 'SendEmailJob', '--payload', EMAIL, `--queue=${queue}`]);
    }
    await run(['job:dispatch', 'SendEmailJob', '--payload', EMAIL, `--queue=${queue}`, '--delay=600']);

    const before = await run(['queue:stats', `--queue=${queue}`, '--json']);
    expect(before.code).toBe(0);
    const [waiting] = JSON.parse(before.out) as QueueStats[];
    expect(waiting).toMatchObject({ queue, waiting: 3, delayed: 1, running: 0, completedLastMinute: 0 });
    expect(waiting!.oldestWaitingMs).toBeGreaterThan(0);

    await app.createWorker({ queues: [queue], stopWhenEmpty: true, concurrency: 3 }).run();

    const after = JSON.parse((await run(['queue:stats', '--json'])).out) as QueueStats[];
    expect(after.find((stats) => stats.queue === queue)).toMatchObject({
      waiting: 0,
      delayed: 1,
      completed: 3,
      completedLastMinute: 3,
      oldestWaitingMs: 0,
    });

    const table = await run(['queue:stats', `--queue=${queue}`]);
    expect(table.out.split('\n')[2]).toMatch(new RegExp(`^${queue}\\s+0\\s+1\\s+0\\s+0\\s+0\\s+3\\s+-$`));
  });
});
