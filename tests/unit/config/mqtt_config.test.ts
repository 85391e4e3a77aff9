/** The MQTT settings read from the environment: the job command reply prefix. */
import { describe, expect, it } from 'vitest';
import mqttConfig from '../../../config/mqtt.js';

describe('JOB_COMMAND_REPLY_TOPIC', () => {
  it('defaults to topiq/replies and drops a trailing slash', () => {
    expect(mqttConfig.read({}).jobCommandReplyTopic).toBe('topiq/replies');
    expect(mqttConfig.read({ JOB_COMMAND_REPLY_TOPIC: 'ops/replies/' }).jobCommandReplyTopic).toBe(
      'ops/replies',
    );
  });

  it.each([
    ['ops/+/replies', /without wildcards/],
    ['ops/#', /without wildcards/],
    ['ops/\u0000', /NUL/],
    ['$SYS/replies', /may not start with \$/],
    ['/', /a topic prefix/],
  ])('refuses %j with E_INVALID_CONFIG saying why', (value, reason) => {
    expect(() => mqttConfig.read({ JOB_COMMAND_REPLY_TOPIC: value })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringMatching(reason) }),
    );
  });
});

describe('JOB_EVENTS_TOPIC', () => {
  it('takes on, off or a template, and refuses a template that is no topic name', () => {
    expect(mqttConfig.read({ JOB_EVENTS_TOPIC: 'on' }).jobEventsTopic).toBe(
      'topiq/jobs/{queue}/{id}/{status}',
    );
    expect(mqttConfig.read({ JOB_EVENTS_TOPIC: 'off' }).jobEventsTopic).toBeUndefined();
    expect(mqttConfig.read({ JOB_EVENTS_TOPIC: 'ops/{name}/{id}' }).jobEventsTopic).toBe('ops/{name}/{id}');
    for (const template of ['jobs/+/{id}', 'jobs/{queue}/#']) {
      expect(() => mqttConfig.read({ JOB_EVENTS_TOPIC: template })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringMatching(/without wildcards/),
        }),
      );
    }
  });
});

describe('MQTT_BROKER_MAX_RETAINED(_BYTES) and MQTT_BROKER_MAX_QUEUED(_BYTES)', () => {
  it('default to 32 retained topics and 64 KiB per device, 1,000 queued messages and 16 MiB per client, and take 0', () => {
    expect(mqttConfig.read({}).broker.retained).toEqual({ maxTopics: 32, maxBytes: 65536 });
    expect(mqttConfig.read({}).broker.queues).toEqual({ maxMessages: 1000, maxBytes: 16 * 1024 * 1024 });
    expect(mqttConfig.read({ MQTT_BROKER_MAX_QUEUED: '0' }).broker.queues.maxMessages).toBe(0);
    expect(
      mqttConfig.read({ MQTT_BROKER_MAX_RETAINED: '0', MQTT_BROKER_MAX_RETAINED_BYTES: '0' }).broker.retained,
    ).toEqual({ maxTopics: 0, maxBytes: 0 });
  });

  it.each([
    ['MQTT_BROKER_MAX_RETAINED', '-1'],
    ['MQTT_BROKER_MAX_RETAINED_BYTES', '1.5'],
    ['MQTT_BROKER_MAX_RETAINED', 'many'],
    ['MQTT_BROKER_MAX_QUEUED', '-5'],
    ['MQTT_BROKER_MAX_QUEUED_BYTES', 'lots'],
  ])('refuses %s=%j with E_INVALID_CONFIG naming it', (name, value) => {
    expect(() => mqttConfig.read({ [name]: value })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringContaining(name) }),
    );
  });
});
