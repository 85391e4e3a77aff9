/**
 * QueueFake with its own clock (`driver: { now }`): a delay counts from that clock, not from
 * the machine's, so a delayed job is recorded with its delay and runs when that clock says so.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jobs, ProcessSensorDataJob, SendEmailJob } from '../../../app/jobs/index.js';
import { createServer } from '../../../bootstrap/server.js';
import { fakeMessage, Job, QueueFake } from '../../../core/index.js';

class SlowEmailJob extends Job<{ to: string }> {
  static override readonly queue = 'revc-emails';
  async handle() {}
}

let fake: QueueFake | undefined;

afterEach(() => {
  vi.useRealTimers();
  fake?.restore();
  fake = undefined;
});

describe('QueueFake with a driver clock', () => {
  it.each([
    ['ahead of the machine', '2031-01-01T00:00:00Z'],
    ['behind the machine', '2020-01-01T00:00:00Z'],
  ])('delays a job from the driver clock when that clock is %s', async (_where, start) => {
    let clock = Date.parse(start);
    fake = QueueFake.install({ jobs: [SlowEmailJob], driver: { now: () => clock } });
    await SlowEmailJob.dispatch({ to: 'a@example.com' }, { delay: 60 });

    fake.assertDispatched(SlowEmailJob, (_email, job) => job.delay === 60 && job.runAt === clock + 60_000);
    expect(await fake.runNext()).toBeUndefined();
    clock += 59_999;
    expect(await fake.runNext()).toBeUndefined();
    clock += 1;
    expect(await fake.runNext()).toMatchObject({ status: 'completed', job: { name: 'SlowEmailJob' } });
  });
});

describe('QueueFake and a job id used again', () => {
  class PingJob extends Job<{ n: number }> {
    static override readonly queue = 'revc-pings';
    async handle() {}
  }
  class BoomJob extends Job<null> {
    static override readonly queue = 'revc-pings';
    async handle(): Promise<void> {
      throw new Error('boom');
    }
  }

  it('waits for the later job of an id whose first record was dropped, instead of taking it for ready', async () => {
    let clock = 1_000_000;
    fake = QueueFake.install({
      jobs: [PingJob, BoomJob],
      jobErrors: 'record',
      driver: { now: () => clock, retention: { completedCount: 0 } },
    });
    await BoomJob.dispatch(null); // failed stays in view, so the runner's cursor stops here
    await PingJob.dispatch({ n: 1 }, { jobId: 'ping', delay: 10 });
    clock += 10_000;
    expect((await fake.runAll()).map((run) => `${run.job.name}:${run.status}`)).toEqual([
      'BoomJob:failed',
      'PingJob:completed',
    ]);
    // its completed record is not kept, so the id is free: the first dispatch of it was due long
    // ago, the second is not; before, the fake took it for ready and spun, freezing the test
    await PingJob.dispatch({ n: 2 }, { jobId: 'ping', delay: 60 });
    expect(await fake.runAll()).toEqual([]);
    clock += 60_000;
    expect(await fake.runAll()).toMatchObject([{ status: 'completed', job: { payload: { n: 2 } } }]);
  });
});

describe('QueueFake under an application, with time moved as docs/testing.md says', () => {
  it('fakes Date only: the pipeline still hands its jobs over, and a delayed job runs once Date passes its time', async () => {
    // all timers faked would stop setImmediate, with which the pipeline hands jobs to the
    // dispatcher: pipeline.handle() would never resolve
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2030-01-01T00:00:00Z') });
    fake = QueueFake.install({ jobs });
    const server = await createServer({ env: { LOG_LEVEL: 'silent' }, driver: fake.driver });
    try {
      await server.pipeline.handle(fakeMessage('devices/d1/telemetry', { temperature: 20 }));
      fake.assertDispatched(ProcessSensorDataJob, (reading) => reading.deviceId === 'd1');
      const email = { to: 'ops@example.com', subject: 'report', body: '-' };
      await server.app.dispatcher.dispatch(SendEmailJob, email, { delay: 60 });
      expect((await fake.runAll()).map((run) => run.job.name)).toEqual(['ProcessSensorDataJob']);
      vi.setSystemTime(new Date('2030-01-01T00:01:00Z'));
      expect(await fake.runAll()).toMatchObject([{ status: 'completed', job: { name: 'SendEmailJob' } }]);
    } finally {
      await server.stop();
    }
  });
});
