/**
 * A job event topic template that could reach the app's own routes, the job command route or
 * the command replies is refused when the server is built: on an external broker the app would
 * take its own events for messages, and requesters would read them as replies.
 */
import { describe, expect, it } from 'vitest';
import { createServer } from '../../../bootstrap/server.js';
import { eventTopicMayMatch } from '../../../core/messaging/job_event_bridge.js';

describe('eventTopicMayMatch', () => {
  it.each([
    ['topiq/jobs/{id}', 'topiq/jobs/+'],
    ['topiq/jobs/{queue}/{id}/{status}', 'topiq/jobs/#'],
    ['topiq/jobs/{queue}/{id}/{status}', 'topiq/+/emails/+/completed'],
    ['devices/{queue}/status', 'devices/+/status'],
    ['devices/job-{id}/{status}', 'devices/job-42/+'],
    ['topiq/replies/{id}', 'topiq/replies/#'],
    ['topiq/replies', 'topiq/replies/#'],
    ['a.b/{id}', 'a.b/+'],
  ])('%s can name a topic %s matches', (template, filter) => {
    expect(eventTopicMayMatch(template, filter)).toBe(true);
  });

  it.each([
    ['topiq/jobs/{queue}/{id}/{status}', 'topiq/jobs/+'],
    ['topiq/jobs/{queue}/{id}/{status}', 'devices/+/status'],
    ['topiq/jobs/{id}', 'topiq/jobs/+/+'],
    ['devices/job-{id}/{status}', 'devices/42/+'],
    ['a.b/{id}', 'axb/+'],
    ['topiq/jobs/{id}', 'topiq/replies/#'],
  ])('%s names no topic %s matches', (template, filter) => {
    expect(eventTopicMayMatch(template, filter)).toBe(false);
  });
});

describe('createServer with JOB_EVENTS_TOPIC', () => {
  const env = { LOG_LEVEL: 'silent', JOB_EVENTS_TOPIC: 'on' };

  it('refuses a template under the job command route, naming both', async () => {
    await expect(
      createServer({ env: { ...env, JOB_COMMAND_TOPIC: 'topiq/jobs', JOB_EVENTS_TOPIC: 'topiq/jobs/{id}' } }),
    ).rejects.toMatchObject({
      code: 'E_INVALID_CONFIG',
      message: expect.stringMatching(
        /^JOB_EVENTS_TOPIC topiq\/jobs\/\{id\} can name topics the route topiq\/jobs\/\{jobName\} subscribes to/,
      ),
    });
  });

  it("refuses a template an app route's filter matches", async () => {
    await expect(
      createServer({ env: { ...env, JOB_EVENTS_TOPIC: 'devices/{id}/alarms/{status}' } }),
    ).rejects.toMatchObject({
      code: 'E_INVALID_CONFIG',
      message: expect.stringContaining(
        'the route devices/{deviceId}/alarms/{kind} subscribes to (devices/+/alarms/+)',
      ),
    });
  });

  it('refuses a template under the command reply prefix while commands are on', async () => {
    await expect(
      createServer({
        env: { ...env, JOB_COMMAND_TOPIC: 'topiq/commands/jobs', JOB_EVENTS_TOPIC: 'topiq/replies/{id}' },
      }),
    ).rejects.toMatchObject({
      code: 'E_INVALID_CONFIG',
      message: expect.stringContaining('under the command reply prefix topiq/replies'),
    });
  });

  it('builds with the default template beside the command topic and the example routes', async () => {
    const server = await createServer({ env: { ...env, JOB_COMMAND_TOPIC: 'topiq/jobs' } });
    await server.app.close();
    const withReplies = await createServer({ env: { ...env, JOB_EVENTS_TOPIC: 'topiq/replies/{id}' } });
    await withReplies.app.close();
  });
});
