/**
 * The command line values of `devices:simulate`: parsers (commander `argParser`s that
 * throw `InvalidArgumentError`, so a bad flag exits 2 before any connection is made) and
 * how the broker URL and each device's password are chosen from flags and config.
 */
import { InvalidArgumentError } from 'commander';
import { isPasswordHash } from '../../../core/broker/index.js';
import { parsePositiveInteger, parsePositiveNumber } from '../../../core/console/parsers.js';
import { CliUsageError, type MqttAccount } from '../../../core/index.js';
import type { Qos } from '../../../core/routing/index.js';

/** More connections than this from one process is a job for a distributed load tool. */
export const MAX_DEVICES = 10_000;
/** Messages per second per device; beyond this the scheduler, not the broker, is measured. */
export const MAX_RATE = 1000;
/** Password sent by devices that have none configured: development mode accepts any. */
export const DEFAULT_PASSWORD = 'simulator';

/** Accepts a device count from 1 to {@link MAX_DEVICES}. */
export function parseDeviceCount(text: string): number {
  const count = parsePositiveInteger(text);
  if (count > MAX_DEVICES) {
    throw new InvalidArgumentError(`Expected at most ${MAX_DEVICES} devices (one connection each).`);
  }
  return count;
}

/** Accepts messages per second per device: more than 0, at most {@link MAX_RATE}. */
export function parseRate(text: string): number {
  const rate = parsePositiveNumber(text);
  if (rate > MAX_RATE) {
    throw new InvalidArgumentError(`Expected at most ${MAX_RATE} messages per second per device.`);
  }
  return rate;
}

/** Accepts an MQTT QoS: 0, 1 or 2. */
export function parseQos(text: string): Qos {
  const value = text.trim();
  if (value !== '0' && value !== '1' && value !== '2') throw new InvalidArgumentError('Expected 0, 1 or 2.');
  return Number(value) as Qos;
}

/** Accepts a broker URL: `mqtt://`, `mqtts://`, `ws://`, `wss://`, `tcp://` or `ssl://`. */
export function parseMqttUrl(text: string): string {
  const url = text.trim();
  if (!/^(mqtts?|wss?|tcp|ssl):\/\/[^/?#\s]+/.test(url) || !URL.canParse(url)) {
    throw new InvalidArgumentError('Expected a broker URL such as mqtt://127.0.0.1:1883.');
  }
  return url;
}

/** Accepts a device id prefix: 1–48 of `A-Z a-z 0-9 _ . : -` (ids are `<prefix>-1` …). */
export function parseDevicePrefix(text: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,48}$/.test(text)) {
    throw new InvalidArgumentError('Expected 1-48 of A-Z a-z 0-9 _ . : - (e.g. sensor).');
  }
  return text;
}

/** The ids of `count` simulated devices: `<prefix>-1` … `<prefix>-<count>`. */
export function deviceIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${index + 1}`);
}

/**
 * `--url`, else `MQTT_URL`, else the embedded broker on this machine. With
 * `MQTT_BROKER_PORT=0` the embedded broker's port is chosen when it starts, which this
 * process cannot know: `--url` is required then.
 */
export function brokerUrl(
  flag: string | undefined,
  config: { url?: string | undefined; port: number },
): string {
  const url = flag ?? config.url;
  if (url !== undefined) return url;
  if (config.port === 0) {
    throw new CliUsageError(
      'MQTT_BROKER_PORT is 0, so the embedded broker picks a free port when it starts, and this command cannot know it: pass --url=mqtt://127.0.0.1:<the port serve logged>',
    );
  }
  return `mqtt://127.0.0.1:${config.port}`;
}

/**
 * Each device's password: `--password` when given, else its `MQTT_DEVICES` entry, else
 * {@link DEFAULT_PASSWORD}. A listed device whose password is stored hashed cannot be
 * simulated without `--password`: that is a usage error, raised before connecting.
 */
export function devicePasswords(
  ids: readonly string[],
  flag: string | undefined,
  accounts: readonly MqttAccount[],
): Map<string, string> {
  const listed = new Map(
    accounts
      .filter((account) => account.deviceId !== undefined)
      .map((account) => [account.deviceId, account]),
  );
  const passwords = new Map<string, string>();
  for (const id of ids) {
    const account = listed.get(id);
    if (flag !== undefined) passwords.set(id, flag);
    else if (account === undefined) passwords.set(id, DEFAULT_PASSWORD);
    else if (isPasswordHash(account.password)) {
      throw new CliUsageError(
        `device ${id} is listed in MQTT_DEVICES with a hashed password; pass its password with --password`,
      );
    } else passwords.set(id, account.password);
  }
  return passwords;
}
