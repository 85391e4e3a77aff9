/**
 * The example's alarm route: a device's alarm notifies at once, a critical one first in line and
 * by email too (one email however often the notification is tried), and no device may flood the
 * most urgent queue.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobs, SendEmailJob, SendNotificationJob } from '../../app/jobs/index.js';
import { createServer } from '../../bootstrap/server.js';
import { fakeMessage, QueueFake, type Server } from '../../core/index.js';
import { jobContext } from '../support/job_context.js';

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

const alarm = (deviceId: string, kind: string, severity: string) =>
  fakeMessage(`devices/${deviceId}/alarms/${kind}`, { severity, message: 'door forced open' });

/** The context of try `attempt` of the job stored as `jobId`. */
const attemptOf = (jobId: string, attempt: number) => jobContext(jobId, attempt, 'notifications');

describe('devices/{deviceId}/alarms/{kind}', () => {
  it('notifies with the kind in the message, a critical alarm first in line', async () => {
    await server.pipeline.handle(alarm('d1', 'door', 'warning'));
    await server.pipeline.handle(alarm('d1', 'door', 'critical'));

    expect(fake.dispatched(SendNotificationJob)).toEqual([
      { deviceId: 'd1', level: 'warning', message: 'door: door forced open' },
      { deviceId: 'd1', level: 'critical', message: 'door: door forced open' },
    ]);
    expect(fake.dispatchedJobs(SendNotificationJob).map((job) => job.priority)).toEqual([0, -100]);
  });

  it('emails on a critical notification once, however often the notification is tried', async () => {
    const job = new SendNotificationJob();
    const payload = { deviceId: 'd1', level: 'critical', message: 'door: door forced open' } as const;
    await job.handle(payload, attemptOf('notification-1', 1));
    await job.handle(payload, attemptOf('notification-1', 2));

    const emails = fake.dispatchedJobs(SendEmailJob);
    expect(emails.map((email) => email.duplicate)).toEqual([false, true]);
    expect(emails[0]?.payload).toMatchObject({ to: 'oncall@example.com', subject: '[critical] d1' });
  });

  it('refuses a device more than 10 alarms a minute, each device on its own budget', async () => {
    for (let n = 0; n < 12; n++) await server.pipeline.handle(alarm('d1', 'door', 'warning'));
    await server.pipeline.handle(alarm('d2', 'door', 'warning'));

    const notified = fake.dispatched(SendNotificationJob);
    expect(notified.filter((payload) => payload.deviceId === 'd1')).toHaveLength(10);
    expect(notified.filter((payload) => payload.deviceId === 'd2')).toHaveLength(1);
  });

  it('limits invalid alarms too, so a device cannot fill the dead-letter store with them', async () => {
    for (let n = 0; n < 50; n++) {
      await server.pipeline.handle(fakeMessage('devices/d1/alarms/door', { severity: 'apocalyptic' }));
    }
    // 10 a minute reach validation, each dead-lettered; of the 40 refused, the first of the burst
    const letters = await server.app.deadLetters.list(100);
    expect(letters.filter((letter) => letter.code === 'E_INVALID_MESSAGE')).toHaveLength(10);
    expect(letters.filter((letter) => letter.code === 'E_RATE_LIMITED')).toHaveLength(1);
    // and a critical alarm still goes through
    await server.pipeline.handle(alarm('d1', 'fire', 'critical'));
    expect(fake.dispatched(SendNotificationJob).map((payload) => payload.level)).toEqual(['critical']);
  });

  it('keeps critical alarms on a budget of their own: a run of minor ones never holds one back', async () => {
    for (let n = 0; n < 30; n++) await server.pipeline.handle(alarm('d1', 'door', 'info'));
    await server.pipeline.handle(alarm('d1', 'fire', 'critical'));

    expect(fake.dispatched(SendNotificationJob).filter((payload) => payload.level === 'critical')).toEqual([
      { deviceId: 'd1', level: 'critical', message: 'fire: door forced open' },
    ]);
  });
});
