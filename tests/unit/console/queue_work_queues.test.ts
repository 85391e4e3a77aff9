/**
 * The queues `queue:work` serves without `--queue`: the same as `serve --workers`, so that a
 * plain `npx topiq queue:work` runs the example app's jobs instead of an empty `default`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jobs } from '../../../app/jobs/index.js';
import appConfig from '../../../config/app.js';
import queueConfig from '../../../config/queue.js';
import { Kernel } from '../../../core/console/index.js';
import { QueueWorkCommand, queuesOfJobs } from '../../../core/console/commands/queue_work_command.js';
import { Application, type Worker } from '../../../core/index.js';
import { captureIO } from './capture_io.js';

let app: Application | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await app?.close();
  app = undefined;
});

/** The queues a worker started by `queue:work <args>` is given, with `env` as the environment. */
async function queuesServed(args: string[], env: Record<string, string> = {}): Promise<unknown> {
  const built = new Application({
    app: appConfig.read({ LOG_LEVEL: 'silent' }),
    queue: queueConfig.read({ REDIS_URL: 'redis://127.0.0.1:6379', QUEUE_PREFIX: 'fx-nu-qw', ...env }),
    jobs,
  });
  app = built;
  const createWorker = vi
    .spyOn(built, 'createWorker')
    .mockReturnValue({ name: 'w', run: async () => {}, stop: () => {} } as unknown as Worker);
  const kernel = new Kernel({
    commands: [QueueWorkCommand],
    io: captureIO(),
    createApplication: () => built,
  });
  expect(await kernel.handle(['queue:work', ...args])).toBe(0);
  return createWorker.mock.calls[0]?.[0].queues;
}

describe('queue:work', () => {
  it('serves every queue of app/jobs, then default, when neither --queue nor WORKER_QUEUES names them', async () => {
    expect(await queuesServed([])).toEqual(queuesOfJobs(jobs));
    expect(queuesOfJobs(jobs)).toContain('telemetry');
  });

  it('serves WORKER_QUEUES when set, and --queue over both', async () => {
    expect(await queuesServed([], { WORKER_QUEUES: 'emails,default' })).toEqual(['emails', 'default']);
    await app?.close();
    expect(await queuesServed(['--queue=telemetry'], { WORKER_QUEUES: 'emails' })).toEqual(['telemetry']);
  });
});

describe('the example app’s queue order', () => {
  it('serves notifications (critical alarms) before the bulk telemetry, since the order across queues is strict', () => {
    const order = queuesOfJobs(jobs);
    expect(order[0]).toBe('notifications');
    expect(order.indexOf('notifications')).toBeLessThan(order.indexOf('telemetry'));
    expect(order.at(-1)).toBe('default');
  });
});
