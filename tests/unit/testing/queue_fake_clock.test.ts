/**
 * QueueFake with its own clock (`driver: { now }`): a delay counts from that clock, not from
 * the machine's, so a delayed job is recorded with its delay and runs when that clock says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Job, QueueFake } from '../../../core/index.js';

class SlowEmailJob extends Job<{ to: string }> {
  static override readonly queue = 'revc-emails';
  async handle() {}
}

let fake: QueueFake | undefined;

afterEach(() => {
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
