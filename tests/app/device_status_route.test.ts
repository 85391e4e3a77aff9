/**
 * The example's device status route: a battery that drops below 15% raises one warning, and
 * the same warning is not stored twice when the route runs twice on the same state (two status
 * messages at once, or a run again after Redis failed between the dispatch and the state).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobs, SendNotificationJob } from '../../app/jobs/index.js';
import { createServer } from '../../bootstrap/server.js';
import { fakeMessage, QueueFake, type Server } from '../../core/index.js';

let fake: QueueFake;
let server: Server;

beforeEach(async () => {
  fake = QueueFake.install({ jobs });
  server = await createServer({ env: { LOG_LEVEL: 'silent' }, driver: fake.driver });
});

afterEach(async () => {
  fake.restore(); // first: a createServer that threw must not leave the fake bound for later files
  await server?.stop(); // none if createServer threw
});

const status = (battery: number) => fakeMessage('devices/d1/status', { online: true, battery });

describe('devices/{deviceId}/status', () => {
  it('warns once when the battery drops below 15%, not again while it stays low', async () => {
    await server.pipeline.handle(status(80));
    await server.pipeline.handle(status(10));
    await server.pipeline.handle(status(8));

    expect(fake.dispatched(SendNotificationJob)).toEqual([
      { deviceId: 'd1', level: 'warning', message: 'battery at 10%' },
    ]);
  });

  it('keeps the state of a device whose id no state id could hold (a space, a leading _)', async () => {
    for (const deviceId of ['dev 1', '_x']) {
      await server.pipeline.handle(fakeMessage(`devices/${deviceId}/status`, { online: true, battery: 80 }));
      await server.pipeline.handle(fakeMessage(`devices/${deviceId}/status`, { online: true, battery: 10 }));
    }

    expect(server.pipeline.stats.deadLettered).toBe(0);
    expect(fake.dispatched(SendNotificationJob).map((payload) => payload.deviceId)).toEqual(['dev 1', '_x']);
  });

  it("keeps a device that logs in as another's hashed state id off that device's state", async () => {
    await server.pipeline.handle(fakeMessage('devices/lobby sensor/status', { online: true, battery: 80 }));
    const [stateId] = Object.keys(await server.app.state.all('devices'));
    expect(stateId).toMatch(/^sha256\./);
    await server.pipeline.handle(fakeMessage(`devices/${stateId}/status`, { online: false, battery: 5 }));

    const states = await server.app.state.all('devices');
    expect(states[stateId!]).toMatchObject({ online: true, battery: 80 });
    expect(Object.keys(states)).toHaveLength(2);
  });

  it('stores one warning for two low-battery messages handled at once', async () => {
    await server.pipeline.handle(status(80));
    await Promise.all([server.pipeline.handle(status(10)), server.pipeline.handle(status(9))]);

    const stored = fake.dispatchedJobs(SendNotificationJob).filter((job) => !job.duplicate);
    expect(stored).toHaveLength(1);
    expect(await fake.driver.counts('notifications')).toMatchObject({ waiting: 1 });
  });
});
