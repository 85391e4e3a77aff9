import { describe, expect, it } from 'vitest';
import { until, useReliabilityFixture } from '../../support/reliability_fixture.js';

describe('worker visibility', () => {
  const setup = useReliabilityFixture('visible');

  it('lists a live worker process and drops one killed with SIGKILL within a few heartbeats', async () => {
    const { startWorker, driver } = setup();
    const survivor = await startWorker({ heartbeatMs: 200 });
    const victim = await startWorker({ heartbeatMs: 200 });
    await until('both workers listed', async () => (await driver.workers()).length === 2);
    const pids = (await driver.workers()).map((worker) => worker.pid).sort();
    expect(pids).toEqual([survivor.pid, victim.pid].sort());
    victim.crash();
    const killedAt = Date.now();
    await until('the killed worker unlisted', async () =>
      (await driver.workers()).every((worker) => worker.pid !== victim.pid),
    );
    // Listed until three heartbeats (600 ms) are missed.
    expect(Date.now() - killedAt).toBeLessThan(3000);
    expect((await driver.workers()).map((worker) => worker.pid)).toEqual([survivor.pid]);
  });
});
