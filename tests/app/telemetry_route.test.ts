/**
 * An example of testing your own routes and jobs: fake the queue, build the server on the
 * fake's driver, feed a message to the pipeline (no broker needed), then assert on the
 * jobs that were dispatched and run them. Copy this file as a start for your own tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobs, ProcessSensorDataJob, SendEmailJob, SendNotificationJob } from '../../app/jobs/index.js';
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
  await server?.stop(); // closes the app (the MQTT side was never started); none if createServer threw
});

describe('devices/{deviceId}/telemetry', () => {
  it('turns a hot reading into a ProcessSensorDataJob, which raises a warning', async () => {
    await server.pipeline.handle(fakeMessage('devices/d1/telemetry', { temperature: 35 }));

    fake.assertDispatched(ProcessSensorDataJob, (reading) => reading.deviceId === 'd1');
    expect(fake.dispatched(ProcessSensorDataJob)).toEqual([{ deviceId: 'd1', temperature: 35 }]);
    expect(fake.dispatchedJobs(ProcessSensorDataJob)[0]).toMatchObject({ queue: 'telemetry', priority: 0 });
    fake.assertNotDispatched(SendNotificationJob);

    const outcomes = await fake.runAll();

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['completed', 'completed']);
    fake.assertDispatched(
      SendNotificationJob,
      (alert) => alert.deviceId === 'd1' && alert.level === 'warning',
    );
    fake.assertNotDispatched(SendEmailJob); // only critical notifications send email
  });

  it('dispatches nothing for an invalid payload, and dead-letters the message', async () => {
    await server.pipeline.handle(fakeMessage('devices/d1/telemetry', { temperature: 'hot' }));

    fake.assertNothingDispatched();
    const [letter] = await server.app.deadLetters.list(10);
    expect(letter).toMatchObject({
      topic: 'devices/d1/telemetry',
      route: 'devices/{deviceId}/telemetry',
      code: 'E_INVALID_MESSAGE',
    });
  });
});
