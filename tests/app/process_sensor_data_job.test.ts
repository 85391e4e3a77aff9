/** The example app's ProcessSensorDataJob: its alerts, run directly on a fake queue. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jobs, ProcessSensorDataJob, SendNotificationJob } from '../../app/jobs/index.js';
import { QueueFake } from '../../core/index.js';
import { jobContext } from '../support/job_context.js';

let fake: QueueFake;

beforeEach(() => {
  fake = QueueFake.install({ jobs });
  vi.useFakeTimers({ toFake: ['Date'] });
});

afterEach(() => {
  vi.useRealTimers();
  fake.restore();
});

/** The context of try `attempt` of the job stored as `jobId`. */
const attemptOf = (jobId: string, attempt: number) =>
  jobContext(jobId, attempt, 'telemetry', ProcessSensorDataJob.maxTries);

describe('ProcessSensorDataJob', () => {
  it('dispatches one alert for a hot reading without a device time, however often the job is tried', async () => {
    const job = new ProcessSensorDataJob();
    const reading = { deviceId: 'd1', temperature: 35 };
    await job.handle(reading, attemptOf('job-7', 1));
    vi.advanceTimersByTime(5000); // the retry comes later
    await job.handle(reading, attemptOf('job-7', 2));

    const alerts = fake.dispatchedJobs(SendNotificationJob);
    expect(alerts).toHaveLength(2);
    expect(alerts[1]?.id).toBe(alerts[0]?.id);
    expect(alerts.map((alert) => alert.duplicate)).toEqual([false, true]);
  });

  it('gives one alert per reading with a device time, whatever the device id holds, and two devices two', async () => {
    const job = new ProcessSensorDataJob();
    const at = '2026-01-01T00:00:00Z';
    // a device id a job id could not hold, one that read alike once characters were replaced, a long one
    for (const deviceId of ['d 2', 'd_2', 'x'.repeat(120)]) {
      await job.handle({ deviceId, temperature: 42, at }, attemptOf(`job-${deviceId.length}`, 1));
    }
    // the same reading sent again, its time written another way
    await job.handle(
      { deviceId: 'd 2', temperature: 42, at: '2026-01-01T00:00:00.000Z' },
      attemptOf('job-9', 1),
    );

    const alerts = fake.dispatchedJobs(SendNotificationJob);
    expect(alerts.map((alert) => alert.duplicate)).toEqual([false, false, false, true]);
    expect(new Set(alerts.map((alert) => alert.id)).size).toBe(3);
  });

  it('gives the alerts of two readings without a device time two ids', async () => {
    const job = new ProcessSensorDataJob();
    await job.handle({ deviceId: 'd1', temperature: 35 }, attemptOf('job-7', 1));
    await job.handle({ deviceId: 'd1', temperature: 36 }, attemptOf('job-8', 1));

    const [first, second] = fake.dispatchedJobs(SendNotificationJob);
    expect(first?.id).not.toBe(second?.id);
  });
});
