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

describe('MQTT_HANDLER_TIMEOUT_MS', () => {
  it('defaults to 30 s, takes 0 for no deadline, and refuses what is no duration', () => {
    expect(mqttConfig.read({}).handlerTimeoutMs).toBe(30_000);
    expect(mqttConfig.read({ MQTT_HANDLER_TIMEOUT_MS: '0' }).handlerTimeoutMs).toBe(0);
    expect(mqttConfig.read({ MQTT_HANDLER_TIMEOUT_MS: '2500' }).handlerTimeoutMs).toBe(2500);
    for (const value of ['30s', '-1', '2147483648']) {
      expect(() => mqttConfig.read({ MQTT_HANDLER_TIMEOUT_MS: value })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringContaining('MQTT_HANDLER_TIMEOUT_MS'),
        }),
      );
    }
  });
});

describe('JOB_EVENTS_PROGRESS', () => {
  it('publishes progress reports with the job events unless turned off, and refuses other values', () => {
    expect(mqttConfig.read({}).jobEventsProgress).toBe(true);
    expect(mqttConfig.read({ JOB_EVENTS_PROGRESS: 'off' }).jobEventsProgress).toBe(false);
    expect(mqttConfig.read({ JOB_EVENTS_PROGRESS: 'false' }).jobEventsProgress).toBe(false);
    expect(() => mqttConfig.read({ JOB_EVENTS_PROGRESS: 'sometimes' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringContaining('JOB_EVENTS_PROGRESS'),
      }),
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
    // the switches JOB_EVENTS_PROGRESS takes, in any case: never a topic named "false"
    for (const on of ['true', '1', 'ON', ' on ']) {
      expect(mqttConfig.read({ JOB_EVENTS_TOPIC: on }).jobEventsTopic, on).toBe(
        'topiq/jobs/{queue}/{id}/{status}',
      );
    }
    for (const off of ['false', '0', 'OFF', ' off']) {
      expect(mqttConfig.read({ JOB_EVENTS_TOPIC: off }).jobEventsTopic, off).toBeUndefined();
    }
    // a name of Object.prototype is a topic like any other word
    expect(mqttConfig.read({ JOB_EVENTS_TOPIC: 'constructor' }).jobEventsTopic).toBe('constructor');
    expect(mqttConfig.read({ JOB_EVENTS_TOPIC: '__proto__' }).jobEventsTopic).toBe('__proto__');
    expect(() => mqttConfig.read({ JOB_EVENTS_TOPIC: 'yes' })).toThrow(
      /on or off \(or true\/false, 1\/0\), not yes/,
    );
    for (const template of ['jobs/+/{id}', 'jobs/{queue}/#']) {
      expect(() => mqttConfig.read({ JOB_EVENTS_TOPIC: template })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringMatching(/without wildcards/),
        }),
      );
    }
  });

  it.each([
    ['topiq/jobs/{queu}/{id}', /"\{queu\}" is no placeholder; use \{queue\}/],
    ['topiq/jobs/{queue/{id}', /"\{queue\/" is no placeholder/],
    ['topiq/jobs/{{id}}', /"\{" is no placeholder/],
    ['topiq/jobs/queue}/{id}', /"\}" is no placeholder/],
    ['$SYS/jobs/{id}', /may not start with \$/],
  ])('refuses %j, which would publish a literal brace or to a broker topic', (template, reason) => {
    expect(() => mqttConfig.read({ JOB_EVENTS_TOPIC: template })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringMatching(reason) }),
    );
  });
});

describe('JOB_COMMAND_TOPIC', () => {
  it.each([
    [{ JOB_COMMAND_TOPIC: 'topiq/replies' }],
    [{ JOB_COMMAND_TOPIC: 'topiq/replies/commands' }],
    [{ JOB_COMMAND_TOPIC: 'ops', JOB_COMMAND_REPLY_TOPIC: 'ops/replies' }],
  ])('refuses %j, where the app would take its own replies for commands', (env) => {
    expect(() => mqttConfig.read(env)).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/JOB_COMMAND_TOPIC: the job command topic and the reply prefix/),
      }),
    );
    expect(mqttConfig.read({ JOB_COMMAND_TOPIC: 'topiq/repliesx' }).jobCommandTopic).toBe('topiq/repliesx');
  });

  it('is off unless set, and drops a trailing slash, which would make the route match no command', () => {
    expect(mqttConfig.read({}).jobCommandTopic).toBeUndefined();
    expect(mqttConfig.read({ JOB_COMMAND_TOPIC: 'ops/commands/' }).jobCommandTopic).toBe('ops/commands');
  });

  it.each([
    ['ops/+/commands', /without wildcards/],
    ['ops/#', /without wildcards/],
    ['$SYS/commands', /may not start with \$/],
    ['ops//commands', /empty level/],
    ['/commands', /empty level/],
    ['/', /names no topic/],
    ['ops/{x}', /may not hold \{ or \}/],
  ])('refuses %j with E_INVALID_CONFIG saying why', (value, reason) => {
    expect(() => mqttConfig.read({ JOB_COMMAND_TOPIC: value })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(reason),
      }),
    );
  });
});

describe('MQTT_BROKER_CLIENT_IDS', () => {
  it('lets devices use any free client id by default, or only their device id', () => {
    expect(mqttConfig.read({}).broker.deviceClientIds).toBe('any');
    expect(mqttConfig.read({ MQTT_BROKER_CLIENT_IDS: 'device-id' }).broker.deviceClientIds).toBe('device-id');
  });
});

describe('MQTT_BROKER_MAX_SESSIONS and MQTT_BROKER_MAX_SUBSCRIPTIONS', () => {
  it('default to 10 client ids per device and 100 subscriptions per client id; subscriptions take 0', () => {
    expect(mqttConfig.read({}).broker.sessions).toEqual({ maxClientIds: 10, maxSubscriptions: 100 });
    expect(
      mqttConfig.read({ MQTT_BROKER_MAX_SESSIONS: '1', MQTT_BROKER_MAX_SUBSCRIPTIONS: '0' }).broker.sessions,
    ).toEqual({ maxClientIds: 1, maxSubscriptions: 0 });
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
    ['MQTT_BROKER_CLIENT_IDS', 'device'],
    ['MQTT_BROKER_MAX_SESSIONS', '0'],
    ['MQTT_BROKER_MAX_SUBSCRIPTIONS', '-1'],
  ])('refuses %s=%j with E_INVALID_CONFIG naming it', (name, value) => {
    expect(() => mqttConfig.read({ [name]: value })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringContaining(name) }),
    );
  });
});

describe('MQTT_URL and MQTT_BROKER_PORT', () => {
  it('takes a broker URL of a known scheme, with a port or not', () => {
    for (const url of [
      'mqtt://127.0.0.1:1883',
      'mqtts://broker.example.com',
      'wss://broker.example.com:8884/mqtt',
    ]) {
      expect(mqttConfig.read({ MQTT_URL: url }).url).toBe(url);
    }
  });

  it.each([
    ['mqtt://127.0.0.1:99999', /not a valid URL/],
    ['mqtt://127.0.0.1:notaport', /not a valid URL/],
    ['mqtt://', /names no host/],
    ['http://127.0.0.1:1883', /must start with mqtt:\/\//],
  ])('refuses MQTT_URL=%j with E_INVALID_CONFIG saying why', (url, reason) => {
    expect(() => mqttConfig.read({ MQTT_URL: url })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringMatching(reason) }),
    );
  });

  it('refuses a port written in hex, which would have been read as port 80', () => {
    expect(() => mqttConfig.read({ MQTT_BROKER_PORT: '0x50' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/MQTT_BROKER_PORT/),
      }),
    );
    expect(mqttConfig.read({ MQTT_BROKER_PORT: '0' }).broker.port).toBe(0);
  });
});

describe('MQTT_DEVICES and MQTT_SERVICE_ACCOUNTS', () => {
  it.each([
    [{ MQTT_DEVICES: 'a:pw1,a:pw2' }, /MQTT_DEVICES: entry 2: the username "a" appears twice/],
    [{ MQTT_DEVICES: '+:pw' }, /MQTT_DEVICES: entry 1: device id "\+" is not allowed/],
    [{ MQTT_DEVICES: 'a:scrypt:zz' }, /MQTT_DEVICES: A password hash must look like scrypt/],
    [{ MQTT_DEVICES: 'a:scrypt:AA:A', NODE_ENV: 'production' }, /MQTT_DEVICES: A password hash must/],
    [{ MQTT_DEVICES: 'a:pw', MQTT_SERVICE_ACCOUNTS: 'a:other' }, /MQTT_SERVICE_ACCOUNTS: a username is both/],
  ])(
    'refuses %j with E_INVALID_CONFIG naming the variable, as the broker would refuse the accounts',
    (env, reason) => {
      expect(() => mqttConfig.read(env)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringMatching(reason) }),
      );
    },
  );
});
