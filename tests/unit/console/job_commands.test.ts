import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jobs } from '../../../app/jobs/index.js';
import appConfig from '../../../config/app.js';
import queueConfig from '../../../config/queue.js';
import { ExitCode, jobCommands, Kernel } from '../../../core/console/index.js';
import {
  parseIsoTime,
  parseJsonPayload,
  parsePriority,
} from '../../../core/console/commands/job_dispatch_command.js';
import { formatDuration } from '../../../core/console/commands/job_formatting.js';
import { formatRecord } from '../../../core/console/commands/job_show_command.js';
import { QueueWorkCommand } from '../../../core/console/commands/queue_work_command.js';
import { toWorkerOutput } from '../../../core/console/commands/queue_workers_command.js';
import { Application, jobNameOf } from '../../../core/index.js';
import type { JobRecord, WorkerInfo } from '../../../core/queue/driver.js';
import { rejection as rejectionOf } from '../../support/cli_rejection.js';
import { captureIO } from './capture_io.js';

/** The message of the `InvalidArgumentError` that `parse` throws. */
const rejection = (parse: () => unknown): string => rejectionOf(parse).message;

describe('job:dispatch value parsers', () => {
  it('accept JSON payloads, ISO 8601 times and priorities from -1000 to 1000', () => {
    expect(parseJsonPayload('{"to":"a@example.com"}')).toEqual({ to: 'a@example.com' });
    expect(parseJsonPayload('[1, 2]')).toEqual([1, 2]);
    expect(parseIsoTime('2030-01-31T09:00:00Z').toISOString()).toBe('2030-01-31T09:00:00.000Z');
    expect(parseIsoTime('2032-02-29T00:00:00Z').toISOString()).toBe('2032-02-29T00:00:00.000Z');
    expect(parseIsoTime('2030-01-31T09:00:00.250+02:00').toISOString()).toBe('2030-01-31T07:00:00.250Z');
    expect(parsePriority('-1000')).toBe(-1000);
    expect(parsePriority('+7')).toBe(7);
    expect(parsePriority('1000')).toBe(1000);
  });

  it('reject text that is not JSON, not an ISO time, or not a priority, saying what is expected', () => {
    expect(rejection(() => parseJsonPayload("{to: 'a'}"))).toMatch(
      /^The payload is not JSON \(.+\)\. Quote it/,
    );
    for (const text of [
      'tomorrow',
      '1700000000000',
      '2030-13-45',
      '31/01/2030',
      '2030-02-31T00:00:00Z',
      '2031-02-29',
      '2030-04-31T09:00',
    ]) {
      expect(rejection(() => parseIsoTime(text))).toMatch(/^Expected an ISO 8601 time/);
    }
    for (const text of ['1001', '-1001', '1.5', 'high', '']) {
      expect(rejection(() => parsePriority(text))).toMatch(/^Expected a whole number from -1000/);
    }
  });
});

describe('job:dispatch times without an offset', () => {
  const zone = process.env.TZ;
  beforeEach(() => {
    process.env.TZ = 'America/New_York';
  });
  afterEach(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });

  it('read a bare date as local midnight, like a date and time without an offset', () => {
    expect(parseIsoTime('2030-01-31').toISOString()).toBe('2030-01-31T05:00:00.000Z');
    expect(parseIsoTime('2030-07-31').toISOString()).toBe('2030-07-31T04:00:00.000Z');
    expect(parseIsoTime('2030-01-31').getTime()).toBe(parseIsoTime('2030-01-31T00:00').getTime());
    expect(parseIsoTime('2030-01-31T09:00:00').toISOString()).toBe('2030-01-31T14:00:00.000Z');
    expect(parseIsoTime('2030-01-31T09:00:00Z').toISOString()).toBe('2030-01-31T09:00:00.000Z');
    expect(parseIsoTime('2032-02-29T00:00:00Z').toISOString()).toBe('2032-02-29T00:00:00.000Z');
  });
});

describe('formatDuration', () => {
  it('shows tenths of seconds under a minute, then minutes and seconds, hours and minutes, days and hours', () => {
    expect(formatDuration(0)).toBe('0.0s');
    expect(formatDuration(-50)).toBe('0.0s');
    expect(formatDuration(3249)).toBe('3.2s');
    expect(formatDuration(59_999)).toBe('59.9s');
    expect(formatDuration(310_000)).toBe('5m 10s');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000 + 59_000)).toBe('2h 5m');
    expect(formatDuration(3 * 86_400_000 + 4 * 3600_000)).toBe('3d 4h');
  });
});

const RECORD: JobRecord = {
  id: 'job-1',
  name: 'SendEmailJob',
  queue: 'emails',
  payload: { to: 'ops@example.com' },
  status: 'failed',
  attempts: 2,
  maxTries: 0,
  priority: -5,
  progress: 40,
  progressMessage: 'connecting',
  progressData: null,
  result: null,
  error: { code: 'E_JOB_TIMEOUT', message: 'took too long', stack: 'Error: took too long\n    at handle' },
  createdAt: Date.UTC(2030, 0, 1, 9, 0, 0),
  queuedAt: Date.UTC(2030, 0, 1, 9, 0, 0),
  runAt: null,
  startedAt: Date.UTC(2030, 0, 1, 9, 0, 1),
  finishedAt: Date.UTC(2030, 0, 1, 9, 1, 1),
  expiresAt: null,
  worker: 'host:42:ab',
  owner: null,
  description: null,
};

describe('job:show formatting', () => {
  it('labels the error of a job that did not end with it as its last failed attempt', () => {
    const completed = formatRecord({ ...RECORD, status: 'completed', result: { sent: true } }).split('\n');
    expect(completed).toContain('last failed attempt: E_JOB_TIMEOUT: took too long');
    expect(completed.some((line) => line.startsWith('error:'))).toBe(false);
    expect(formatRecord({ ...RECORD, status: 'delayed' })).toMatch(/^last failed attempt: E_JOB_TIMEOUT/m);
    expect(formatRecord({ ...RECORD, status: 'cancelled' })).toMatch(/^error: +E_JOB_TIMEOUT/m);
  });

  it('prints aligned key: value lines, a dash for absent values and the stack indented under its value', () => {
    expect(formatRecord(RECORD)).toBe(
      [
        'id:         job-1',
        'name:       SendEmailJob',
        'queue:      emails',
        'status:     failed',
        "attempts:   2/default (the worker's --tries decides the maximum)",
        'priority:   -5',
        'progress:   40% (connecting)',
        'worker:     host:42:ab',
        'created:    2030-01-01T09:00:00.000Z',
        'queued:     2030-01-01T09:00:00.000Z',
        'started:    2030-01-01T09:00:01.000Z',
        'finished:   2030-01-01T09:01:01.000Z',
        'run at:     -',
        'expires at: -',
        'payload:    {"to":"ops@example.com"}',
        'result:     -',
        'error:      E_JOB_TIMEOUT: took too long',
        'stack:      Error: took too long',
        '                at handle',
        '',
      ].join('\n'),
    );
  });

  it('prints the data of the last progress report after the progress, when it has some', () => {
    const lines = formatRecord({ ...RECORD, progressData: { rows: 400 } }).split('\n');
    expect(lines.slice(6, 8)).toEqual(['progress:      40% (connecting)', 'progress data: {"rows":400}']);
  });

  it('prints the owner and the description after the priority when the job was dispatched with them', () => {
    const lines = formatRecord({ ...RECORD, owner: 'sensor-17', description: 'firmware 2.4 upload' }).split(
      '\n',
    );
    expect(lines.slice(5, 8)).toEqual([
      'priority:    -5',
      'owner:       sensor-17',
      'description: firmware 2.4 upload',
    ]);
  });

  it('turns control characters from the record into spaces, keeping only the stack’s line breaks', () => {
    const hostile: JobRecord = {
      ...RECORD,
      progressMessage: 'device says \u001b]0;pwned\u0007',
      payload: { raw: '\u009b2J' },
      error: {
        message: 'bad frame \u001b[2J\u001b[31mred\nsecond line',
        stack: 'Error: bad frame \u001b[2J\r\n    at parse (\u009b1Avendor.js)\n    at handle',
      },
    };
    const text = formatRecord(hostile);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for what must not be there
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('progress:   40% (device says  ]0;pwned )');
    expect(text).toContain('payload:    {"raw":" 2J"}');
    expect(text).toContain('error:      bad frame  [2J [31mred second line\n');
    expect(text).toContain(
      [
        'stack:      Error: bad frame  [2J ',
        '                at parse ( 1Avendor.js)',
        '                at handle',
      ].join('\n'),
    );
  });
});

describe('queue:workers formatting', () => {
  it('measures uptime and heartbeat age at the given time and prints times as ISO 8601', () => {
    const info: WorkerInfo = {
      id: 'w1',
      host: 'box',
      pid: 42,
      queues: ['high', 'default'],
      concurrency: 4,
      runningJobIds: ['a'],
      startedAt: Date.UTC(2030, 0, 1, 9, 0, 0),
      heartbeatAt: Date.UTC(2030, 0, 1, 9, 5, 8),
    };
    expect(toWorkerOutput(info, Date.UTC(2030, 0, 1, 9, 5, 10))).toEqual({
      ...info,
      startedAt: '2030-01-01T09:00:00.000Z',
      heartbeatAt: '2030-01-01T09:05:08.000Z',
      uptimeMs: 310_000,
      heartbeatAgeMs: 2000,
    });
  });
});

describe('job commands on the command line', () => {
  it('reject bad input with exit code 2 and a clear message, before building the application', async () => {
    const cases: [string[], RegExp][] = [
      [['job:dispatch', 'SendEmailJob', '--payload', '{to:'], /--payload <json>.*The payload is not JSON/],
      [['job:dispatch', 'SendEmailJob', '--delay=5', '--run-at=2030-01-01T00:00:00Z'], /cannot be used with/],
      [['job:dispatch', 'SendEmailJob', '--expires-at=2000-01-01'], /would expire without running/],
      [
        ['job:dispatch', 'SendEmailJob', '--run-at=2020-01-01', '--expires-at=2021-01-01'],
        /--expires-at 2021-01-01T00:00:00.000Z is not after .* would expire without running/,
      ],
      [['job:dispatch', 'SendEmailJob', '--delay=1e13', '--expires-at=2030-01-01'], /end by the year 9999/],
      [['job:dispatch', 'SendEmailJob', '--tries=0'], /--tries <n>.*whole number from 1 to 1000000/],
      [['job:dispatch', 'SendEmailJob', '--tries=1000001'], /--tries <n>.*whole number from 1 to 1000000/],
      [
        ['job:dispatch', 'SendEmailJob', '--run-at=1969-12-31T23:59:59Z'],
        /--run-at <time>.*from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z; got 1969-12-31T23:59:59.000Z/,
      ],
      [
        ['job:dispatch', 'SendEmailJob', '--run-at=9999-12-31T23:00:00-05:00'],
        /--run-at <time>.*to 9999-12-31T23:59:59Z; got \+010000-01-01T04:00:00.000Z/,
      ],
      [
        ['job:dispatch', 'SendEmailJob', '--expires-at=9999-12-31T23:00:00-05:00'],
        /--expires-at <time>.*to 9999/,
      ],
      [['job:dispatch', 'SendEmailJob', '--job-id=a b'], /job id "a b" is not allowed/],
      [['job:dispatch', 'SendEmailJob', '--job-id=all'], /job id "all" is reserved/],
      [['job:dispatch'], /missing required argument 'JobName'/],
      [['job:show', 'a/b'], /job id "a\/b" is not allowed/],
      [['job:list', '--status=done'], /Allowed choices are pending, queued, delayed, running, completed/],
      [['job:list', '--limit=0'], /--limit <n>.*whole number of 1 or more/],
      [['job:cancel'], /missing required argument 'id'/],
      [['job:release', 'a', 'b'], /too many arguments/],
      [['queue:stats', '--queue=,'], /no queue named/],
      [['queue:workers', '--all'], /unknown option '--all'/],
      [['queue:workers', '--queue=bad{name}'], /queue name "bad\{name\}" is not allowed/],
    ];
    for (const [argv, message] of cases) {
      const io = captureIO();
      const createApplication = vi.fn(() => {
        throw new Error('the application must not be built');
      });
      const kernel = new Kernel({ commands: jobCommands, io, createApplication });
      expect(await kernel.handle(argv), argv.join(' ')).toBe(ExitCode.usage);
      expect(io.err).toMatch(/^error E_CLI_USAGE: /);
      expect(io.err).toMatch(message);
      expect(io.err).toContain(`Run "npx topiq ${argv[0]} --help"`);
      expect(createApplication).not.toHaveBeenCalled();
    }
  });

  it('print --help for every command', async () => {
    for (const command of jobCommands) {
      const io = captureIO();
      const kernel = new Kernel({ commands: jobCommands, io, createApplication: vi.fn() });
      expect(await kernel.handle([command.commandName, '--help'])).toBe(ExitCode.ok);
      expect(io.out).toContain(`Usage: topiq ${command.commandName}`);
      expect(io.out).toContain(command.description);
    }
  });
});

describe('job commands on the memory driver', () => {
  let app: Application;

  beforeEach(() => {
    app = new Application({
      app: appConfig.read({ LOG_LEVEL: 'silent' }),
      queue: queueConfig.read({ QUEUE_DRIVER: 'memory' }),
      jobs,
    });
  });

  afterEach(async () => {
    await app.close();
  });

  /** Runs one command line against `app`, which the kernel must not close between runs. */
  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = captureIO();
    const shared = {
      driver: app.driver,
      dispatcher: app.dispatcher,
      registry: app.registry,
      jobs: app.jobs,
      settings: app.settings,
      close: async () => {},
    } as unknown as Application;
    const code = await new Kernel({ commands: jobCommands, io, createApplication: () => shared }).handle(
      argv,
    );
    return { code, out: io.out, err: io.err };
  }

  it('dispatches with schedule options and shows them in job:show', async () => {
    const dispatched = await run([
      'job:dispatch',
      'SendEmailJob',
      '--payload={"to":"a@example.com","subject":"s","body":""}',
      '--queue=mail',
      '--run-at=2099-01-01T00:00:00Z',
      '--expires-at=2099-01-02T00:00:00Z',
      '--priority=-3',
      '--tries=2',
      '--job-id=mail-1',
      '--json',
    ]);
    expect(dispatched).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(dispatched.out)).toEqual({
      id: 'mail-1',
      name: 'SendEmailJob',
      queue: 'mail',
      duplicate: false,
    });

    const shown = await run(['job:show', 'mail-1']);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^status: +delayed$/m);
    expect(shown.out).toMatch(/^attempts: +0\/2$/m);
    expect(shown.out).toMatch(/^priority: +-3$/m);
    expect(shown.out).toMatch(/^run at: +2099-01-01T00:00:00\.000Z$/m);
    expect(shown.out).toMatch(/^expires at: +2099-01-02T00:00:00\.000Z$/m);
  });

  it("prints queue:stats with a dash when nothing waits and the oldest waiting job's age otherwise", async () => {
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'a@example.com', subject: 's', body: '' },
      { queue: 'later', delay: 60 },
    );
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'a@example.com', subject: 's', body: '' },
      { queue: 'now' },
    );
    // come due, not yet moved to waiting by a reserve: it waits all the same
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'a@example.com', subject: 's', body: '' },
      { queue: 'due', delay: 0.05 },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { code, out } = await run(['queue:stats']);
    expect(code).toBe(0);
    const [header, , due, later, now] = out.split('\n');
    expect(header).toMatch(
      /^queue\s+waiting\s+delayed\s+running\s+pending\s+failed\s+completed\/min\s+oldest_waiting$/,
    );
    expect(due).toMatch(/^due\s+0\s+1\s+0\s+0\s+0\s+0\s+\d+\.\ds$/);
    expect(later).toMatch(/^later\s+0\s+1\s+0\s+0\s+0\s+0\s+-$/);
    expect(now).toMatch(/^now\s+1\s+0\s+0\s+0\s+0\s+0\s+\d+\.\ds$/);
  });

  it('lists workers from their heartbeats with running ids, uptime and heartbeat age', async () => {
    const now = Date.now();
    await app.driver.heartbeat(
      {
        id: 'w-1',
        host: 'box',
        pid: 42,
        queues: ['high', 'default'],
        concurrency: 4,
        runningJobIds: ['job-a', 'job-b'],
        startedAt: now - 310_000,
        heartbeatAt: now,
      },
      60_000,
    );
    const { code, out } = await run(['queue:workers']);
    expect(code).toBe(0);
    const [header, , row] = out.split('\n');
    expect(header).toMatch(/^id\s+host\s+pid\s+queues\s+concurrency\s+running\s+started\s+heartbeat$/);
    expect(row).toMatch(
      /^w-1\s+box\s+42\s+high,default\s+4\s+2: job-a,job-b\s+\S+Z \(up 5m 1\ds\)\s+\d+\.\ds ago$/,
    );
  });

  it('lists only the workers serving the queue given with --queue', async () => {
    const now = Date.now();
    const info = (id: string, queues: string[]) => ({
      id,
      host: 'box',
      pid: 42,
      queues,
      concurrency: 1,
      runningJobIds: [],
      startedAt: now,
      heartbeatAt: now,
    });
    await app.driver.heartbeat(info('w-emails', ['high', 'emails']), 60_000);
    await app.driver.heartbeat(info('w-telemetry', ['telemetry']), 60_000);
    const listed = async (argv: string[]) =>
      (JSON.parse((await run(['queue:workers', '--json', ...argv])).out) as { id: string }[]).map(
        (worker) => worker.id,
      );
    expect(await listed(['--queue=emails'])).toEqual(['w-emails']);
    expect(await listed(['--queue=telemetry'])).toEqual(['w-telemetry']);
    expect(await listed(['--queue=none'])).toEqual([]);
    expect((await run(['queue:workers', '--queue=none'])).out).toBe(
      'No live worker serves queue "none": start one with `npx topiq queue:work --queue=none`.\n',
    );
  });

  it('lists the registered jobs with the settings their classes declare, by name', async () => {
    const { code, out } = await run(['job:types', '--json']);
    expect(code).toBe(0);
    const types = JSON.parse(out) as { name: string }[];
    // every job app/jobs/index.ts registers, sorted by name: a user's own jobs too
    const registered = jobs.map((job) => jobNameOf(job)).sort((a, b) => a.localeCompare(b));
    expect(types.map((type) => type.name)).toEqual(registered);
    // and, for the example app's jobs, the settings their classes declare
    expect(types).toEqual(
      expect.arrayContaining([
        {
          name: 'ProcessSensorDataJob',
          queue: 'telemetry',
          maxTries: 3,
          timeout: 10,
          retryAfter: [1, 5, 15],
          priority: null,
          schema: true,
        },
        {
          name: 'SendEmailJob',
          queue: 'emails',
          maxTries: 5,
          timeout: 30,
          retryAfter: { type: 'exponential', base: 2, max: 300, jitter: 'full' },
          priority: null,
          schema: true,
        },
        {
          name: 'SendNotificationJob',
          queue: 'notifications',
          maxTries: null,
          timeout: null,
          retryAfter: null,
          priority: null,
          schema: true,
        },
      ]),
    );
    const [header, , ...rows] = (await run(['job:types'])).out.trimEnd().split('\n');
    expect(header).toMatch(/^name\s+queue\s+tries\s+timeout\s+retry_after\s+priority\s+schema$/);
    expect(rows.map((row) => row.split(' ')[0])).toEqual(registered);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ProcessSensorDataJob\s+telemetry\s+3\s+10s\s+1s,5s,15s\s+-\s+yes$/),
        expect.stringMatching(/^SendEmailJob\s+emails\s+5\s+30s\s+exp:2:300 \(full jitter\)\s+-\s+yes$/),
        // what the class leaves out, the worker's --tries, --timeout and --backoff decide
        expect.stringMatching(/^SendNotificationJob\s+notifications\s+-\s+-\s+-\s+-\s+yes$/),
      ]),
    );
  });

  it('says so when there are no jobs, workers or queues', async () => {
    expect((await run(['job:list', '--status=failed'])).out).toBe('No failed jobs.\n');
    expect(await run(['job:list', '--queue=none'])).toEqual({
      code: ExitCode.failure,
      out: '',
      err:
        'error E_QUEUE_NOT_FOUND: no queue is named "none": no job was ever pushed to it; ' +
        'there are no queues yet (none has had a job pushed, under this QUEUE_PREFIX)\n',
    });
    expect((await run(['queue:workers'])).out).toMatch(/^No live workers/);
    expect((await run(['queue:stats'])).out).toMatch(/^No queues yet/);
    expect(JSON.parse((await run(['queue:workers', '--json'])).out)).toEqual([]);
  });
});

describe('queue:work on the memory driver', () => {
  it('refuses to start a worker that could never see a job, saying how to share the queues', async () => {
    const app = new Application({
      app: appConfig.read({ LOG_LEVEL: 'silent' }),
      queue: queueConfig.read({ QUEUE_DRIVER: 'memory' }),
      jobs,
    });
    const io = captureIO();
    const kernel = new Kernel({ commands: [QueueWorkCommand], io, createApplication: () => app });
    expect(await kernel.handle(['queue:work', '--stop-when-empty'])).toBe(ExitCode.failure);
    expect(io.err).toMatch(/^error E_INVALID_CONFIG: queue:work runs a worker in a process of its own/);
    expect(io.err).toMatch(/set REDIS_URL/);
  });
});
