import { describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import {
  DeviceTopicRules,
  defaultDeviceAcl,
  expandTemplate,
  filterCovers,
  isValidTopicFilter,
  topicMatchesFilter,
  validateAclTemplates,
} from '../../../core/broker/topic_acl.js';

describe('filterCovers', () => {
  it.each([
    ['devices/d1/#', 'devices/d1/temp'],
    ['devices/d1/#', 'devices/d1/a/b/c'],
    ['devices/d1/#', 'devices/d1'],
    ['devices/d1/#', 'devices/d1/#'],
    ['devices/d1/#', 'devices/d1/+/temp'],
    ['devices/+/temp', 'devices/d1/temp'],
    ['devices/+/temp', 'devices/+/temp'],
    ['#', 'anything/at/all'],
    ['+/status', 'd1/status'],
    ['a/b', 'a/b'],
  ])('lets %s cover %s', (allowed, requested) => {
    expect(filterCovers(allowed, requested)).toBe(true);
  });

  it.each([
    ['devices/d1/#', 'devices/d2/temp'],
    ['devices/d1/#', 'devices/+/temp'],
    ['devices/d1/#', 'devices/#'],
    ['devices/d1/#', '#'],
    ['devices/d1/#', 'devices'],
    ['devices/d1/#', 'devices/d10/temp'],
    ['devices/+/temp', 'devices/d1/temp/x'],
    ['devices/+/temp', 'devices/#'],
    ['devices/+/temp', 'devices/d1'],
    ['a/b', 'a/b/c'],
    ['a/b', 'a/+'],
    ['#', '$SYS/broker/load'],
    ['+/broker', '$SYS/broker'],
  ])('does not let %s cover %s', (allowed, requested) => {
    expect(filterCovers(allowed, requested)).toBe(false);
  });
});

describe('topicMatchesFilter', () => {
  it('matches a topic name against a filter with wildcards', () => {
    expect(topicMatchesFilter('devices/d1/temp', 'devices/+/temp')).toBe(true);
    expect(topicMatchesFilter('devices/d1/temp', 'devices/d2/#')).toBe(false);
  });

  it('never matches a "topic" that itself holds wildcards', () => {
    expect(topicMatchesFilter('devices/d1/#', 'devices/d1/#')).toBe(false);
  });

  it('treats an empty level as a level of its own', () => {
    expect(topicMatchesFilter('devices//temp', 'devices/+/temp')).toBe(true);
    expect(topicMatchesFilter('devices/d1/', 'devices/d1/#')).toBe(true);
  });
});

describe('isValidTopicFilter', () => {
  it.each(['a', 'a/b', '+', '#', 'a/+/b', 'a/#', '+/+/#', 'a//b'])('accepts %j', (filter) => {
    expect(isValidTopicFilter(filter)).toBe(true);
  });

  it.each(['', 'a/#/b', 'a#', 'a/b+', '#/a', 'a\u0000b'])('rejects %j', (filter) => {
    expect(isValidTopicFilter(filter)).toBe(false);
  });
});

describe('validateAclTemplates', () => {
  it('accepts the default templates', () => {
    expect(() => validateAclTemplates(defaultDeviceAcl)).not.toThrow();
  });

  it('throws InvalidOptionError for an unknown placeholder', () => {
    const attempt = () => validateAclTemplates({ publish: ['devices/{device_id}/#'], subscribe: [] });

    expect(attempt).toThrow(/\{device_id\}/);
    expect(catchError(attempt)).toSatisfy((error) => isTopiqError(error, 'E_INVALID_OPTION'));
  });

  it('throws InvalidOptionError for a malformed filter', () => {
    const attempt = () => validateAclTemplates({ publish: [], subscribe: ['devices/#/{deviceId}'] });

    expect(catchError(attempt)).toSatisfy((error) => isTopiqError(error, 'E_INVALID_OPTION'));
  });
});

describe('DeviceTopicRules', () => {
  const rules = new DeviceTopicRules(
    { publish: ['devices/{deviceId}/#'], subscribe: ['devices/{deviceId}/#', 'topiq/jobs/{deviceId}/+'] },
    'sensor-1',
  );

  it('lets a device publish only under its own id', () => {
    expect(rules.canPublish('devices/sensor-1/telemetry')).toBe(true);
    expect(rules.canPublish('devices/sensor-2/telemetry')).toBe(false);
    expect(rules.canPublish('devices/sensor-10/telemetry')).toBe(false);
    expect(rules.canPublish('topiq/jobs/sensor-1/reboot')).toBe(false);
  });

  it('lets a device subscribe only to filters its templates cover', () => {
    expect(rules.canSubscribe('devices/sensor-1/#')).toBe(true);
    expect(rules.canSubscribe('topiq/jobs/sensor-1/+')).toBe(true);
    expect(rules.canSubscribe('topiq/jobs/sensor-1/#')).toBe(false);
    expect(rules.canSubscribe('devices/+/telemetry')).toBe(false);
    expect(rules.canSubscribe('#')).toBe(false);
  });

  it('expands every placeholder of a template', () => {
    expect(expandTemplate('fleet/{deviceId}/to/{deviceId}', 'd1')).toBe('fleet/d1/to/d1');
  });

  it("puts a device id with $ in as it is, never as a replacement pattern ($', $$ would widen the grant)", () => {
    expect(expandTemplate('devices/{deviceId}/#', "sensor-1$'")).toBe("devices/sensor-1$'/#");
    expect(expandTemplate('devices/{deviceId}/#', 'a$$')).toBe('devices/a$$/#');
    expect(expandTemplate('devices/{deviceId}/#', 'b$&$`')).toBe('devices/b$&$`/#');
  });
});

function catchError(attempt: () => unknown): unknown {
  try {
    attempt();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}
