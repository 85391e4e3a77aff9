import { describe, expect, it } from 'vitest';
import { rejection } from '../../support/cli_rejection.js';
import {
  brokerUrl,
  DEFAULT_PASSWORD,
  deviceIds,
  devicePasswords,
  parseDeviceCount,
  parseDevicePrefix,
  parseMqttUrl,
  parseQos,
  parseRate,
} from '../../../bootstrap/commands/simulation/simulation_options.js';
import { isTopiqError } from '../../../core/index.js';

describe('devices:simulate flag parsers', () => {
  it('accept well-formed values and return them typed', () => {
    expect(parseDeviceCount('3')).toBe(3);
    expect(parseRate('0.5')).toBe(0.5);
    expect(parseQos('0')).toBe(0);
    expect(parseQos('2')).toBe(2);
    expect(parseMqttUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
    expect(parseMqttUrl('wss://broker.example.com/mqtt')).toBe('wss://broker.example.com/mqtt');
    expect(parseDevicePrefix('sensor')).toBe('sensor');
  });

  it('reject device counts below 1, fractional or above the cap', () => {
    expect(rejection(() => parseDeviceCount('0')).message).toMatch(/1 or more/);
    rejection(() => parseDeviceCount('2.5'));
    expect(rejection(() => parseDeviceCount('10001')).message).toMatch(/at most 10000/);
  });

  it('reject rates that are not positive or above the cap', () => {
    rejection(() => parseRate('0'));
    rejection(() => parseRate('-1'));
    rejection(() => parseRate('fast'));
    expect(rejection(() => parseRate('1001')).message).toMatch(/at most 1000/);
  });

  it('reject QoS outside 0-2, URLs of other schemes and prefixes with topic characters', () => {
    rejection(() => parseQos('3'));
    rejection(() => parseQos('1.0'));
    expect(rejection(() => parseMqttUrl('http://127.0.0.1')).message).toMatch(/mqtt:\/\//);
    rejection(() => parseMqttUrl('127.0.0.1:1883'));
    rejection(() => parseDevicePrefix('a/b'));
    rejection(() => parseDevicePrefix('a+'));
    rejection(() => parseDevicePrefix(''));
  });
});

describe('devices:simulate settings', () => {
  it('names devices <prefix>-1 to <prefix>-N', () => {
    expect(deviceIds('sensor', 3)).toEqual(['sensor-1', 'sensor-2', 'sensor-3']);
  });

  it('connects to --url, else MQTT_URL, else the embedded broker port on this machine', () => {
    expect(brokerUrl('mqtt://a:1', { url: 'mqtt://b:2', port: 3 })).toBe('mqtt://a:1');
    expect(brokerUrl(undefined, { url: 'mqtt://b:2', port: 3 })).toBe('mqtt://b:2');
    expect(() => brokerUrl(undefined, { port: 0 })).toThrow(
      expect.objectContaining({ code: 'E_CLI_USAGE', message: expect.stringMatching(/pass --url=/) }),
    );
    expect(brokerUrl('mqtt://a:1', { port: 0 })).toBe('mqtt://a:1');
    expect(brokerUrl(undefined, { url: undefined, port: 1884 })).toBe('mqtt://127.0.0.1:1884');
  });

  it('takes passwords from --password, else MQTT_DEVICES, else the development default', () => {
    const accounts = [
      { username: 'sensor-1', password: 'one', deviceId: 'sensor-1' },
      { username: 'dashboard', password: 'svc' },
    ];
    expect(Object.fromEntries(devicePasswords(['sensor-1', 'sensor-2'], undefined, accounts))).toEqual({
      'sensor-1': 'one',
      'sensor-2': DEFAULT_PASSWORD,
    });
    expect(Object.fromEntries(devicePasswords(['sensor-1', 'sensor-2'], 'given', accounts))).toEqual({
      'sensor-1': 'given',
      'sensor-2': 'given',
    });
  });

  it('refuses, as a usage error, a listed device whose password is stored hashed', () => {
    const accounts = [{ username: 'sensor-1', password: 'scrypt:c2FsdA:aGFzaA', deviceId: 'sensor-1' }];
    let caught: unknown;
    try {
      devicePasswords(['sensor-1'], undefined, accounts);
    } catch (error) {
      caught = error;
    }
    expect(isTopiqError(caught, 'E_CLI_USAGE')).toBe(true);
    expect((caught as Error).message).toMatch(/--password/);
    expect(devicePasswords(['sensor-1'], 'secret', accounts).get('sensor-1')).toBe('secret');
  });
});
