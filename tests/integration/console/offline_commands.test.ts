/**
 * `route:list` and `job:types` run in-process through the kernel and the real command
 * registry, with `REDIS_URL` pointing at a port where nothing listens: listing routes and
 * registered jobs must not need Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobs } from '../../../app/jobs/index.js';
import { commands } from '../../../bootstrap/console.js';
import { envFilePath } from '../../../bootstrap/env_file.js';
import { Kernel } from '../../../core/console/index.js';
import { jobNameOf } from '../../../core/index.js';
import { captureIO } from '../../unit/console/capture_io.js';
import { buildApplication, cliEnv, REPO_ROOT, runCli, runInProcess, uniquePrefix } from './cli_harness.js';

/** Nothing listens on port 1, so any Redis command would fail or hang. */
const DEAD_REDIS = 'redis://127.0.0.1:1';
const env = cliEnv(uniquePrefix(), { REDIS_URL: DEAD_REDIS });

const run = (argv: string[]) => runInProcess(argv, env);

describe('route:list', () => {
  it('prints the devices routes as a table, with their shared subscription', async () => {
    const started = Date.now();
    const { code, out, err } = await run(['route:list']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^Pattern\s+Subscription\s+QoS\s+Shared\s+Middleware\s+Handler/);
    expect(out).toContain('devices/{deviceId}/telemetry');
    expect(out).toContain('$share/topiq/devices/+/telemetry');
    expect(out).toContain('TelemetryController.store');
    expect(out).toContain('devices/{deviceId}/status');
    // Well under ioredis's reconnect attempts: Redis was never waited for.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('prints JSON records with filter, subscription, QoS, group, middleware and handler names', async () => {
    const { code, out } = await run(['route:list', '--json']);
    expect(code).toBe(0);
    const records = JSON.parse(out) as Record<string, unknown>[];
    expect(records).toContainEqual({
      pattern: 'devices/{deviceId}/telemetry',
      filter: 'devices/+/telemetry',
      subscription: '$share/topiq/devices/+/telemetry',
      qos: 1,
      sharedGroup: 'topiq',
      middleware: expect.arrayContaining([expect.stringMatching(/validate/)]),
      handler: 'TelemetryController.store',
    });
    expect(records.find((record) => record.pattern === 'devices/{deviceId}/status')).toMatchObject({
      subscription: 'devices/+/status',
      sharedGroup: null,
      handler: 'DeviceStatusController.update',
    });
  });

  it('works from the real binary while REDIS_URL points at a dead Redis', async () => {
    const result = await runCli(['route:list', '--json'], { ...env, LOG_LEVEL: 'silent' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const records = JSON.parse(result.stdout) as { subscription: string }[];
    expect(records.map((record) => record.subscription)).toContain('$share/topiq/devices/+/telemetry');
  });
});

describe('job:types', () => {
  it('lists the jobs of app/jobs without waiting for Redis', async () => {
    const started = Date.now();
    const { code, out, err } = await run(['job:types', '--json']);
    expect(err).toBe('');
    expect(code).toBe(0);
    // every job app/jobs/index.ts registers (the user's own among them), sorted by name
    const registered = jobs.map((job) => jobNameOf(job)).sort((a, b) => a.localeCompare(b));
    expect(registered).toEqual(expect.arrayContaining(['ProcessSensorDataJob', 'SendEmailJob']));
    expect((JSON.parse(out) as { name: string }[]).map((job) => job.name)).toEqual(registered);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('under NODE_ENV=production without REDIS_URL', () => {
  const { REDIS_URL: _unset, ...withoutRedis } = cliEnv(uniquePrefix());
  const production = { ...withoutRedis, NODE_ENV: 'production' };
  async function runProduction(argv: string[]) {
    const io = captureIO();
    const kernel = new Kernel({ commands, io, createApplication: () => buildApplication(production) });
    return { code: await kernel.handle(argv), out: io.out, err: io.err };
  }

  it('still lists routes and jobs, which store nothing', async () => {
    expect((await runProduction(['route:list'])).code).toBe(0);
    expect((await runProduction(['job:types'])).code).toBe(0);
  });

  it('refuses job:dispatch into the in-memory driver, naming REDIS_URL and QUEUE_DRIVER=memory', async () => {
    const { code, err } = await runProduction([
      'job:dispatch',
      'SendEmailJob',
      '--payload',
      '{"to":"ops@example.com","subject":"hi","body":""}',
    ]);
    expect(code).toBe(1);
    expect(err).toMatch(/^error E_INVALID_CONFIG: NODE_ENV=production and no REDIS_URL.*QUEUE_DRIVER=memory/);
  });
});

describe('the .env file', () => {
  const env = cliEnv(uniquePrefix());
  const elsewhere = mkdtempSync(join(tmpdir(), 'topiq-cwd-'));
  writeFileSync(join(elsewhere, '.env'), 'QUEUE_LEASE_MS=long\n');
  afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

  it("says so when a credential it cut at an unquoted '#' is what the configuration refuses", async () => {
    const file = join(elsewhere, 'cut.env');
    writeFileSync(file, 'REDIS_URL=redis://:p#ss@127.0.0.1:6379\nMQTT_DEVICES=sensor-1:#pw,sensor-2:x\n');
    const { REDIS_URL: _unset, ...withoutRedis } = env;
    const redis = await runCli(['queue:size'], { ...withoutRedis, DOTENV_CONFIG_PATH: file });
    expect(redis.code).toBe(1);
    expect(redis.stderr).toMatch(
      new RegExp(
        `^error E_INVALID_CONFIG: .*REDIS_URL.*\\(REDIS_URL in ${file}: its unquoted value was cut at a '#'.*%23`,
      ),
    );
    const devices = await runCli(['serve'], {
      ...withoutRedis,
      DOTENV_CONFIG_PATH: file,
      MQTT_BROKER_PORT: '0',
    });
    expect(devices.code).toBe(1);
    expect(devices.stderr).toMatch(
      /MQTT_DEVICES.*\(.*MQTT_DEVICES in .*cut\.env: its unquoted value was cut at a '#'/,
    );
  });

  it("is the project root's, not the one of the directory the command runs in", async () => {
    expect(envFilePath({})).toBe(join(REPO_ROOT, '.env'));

    // without DOTENV_CONFIG_PATH, as a user runs it: the root's .env, if any, is read (what
    // job:types reads from it, the variables set here override)
    const { DOTENV_CONFIG_PATH: _unset, ...fromRoot } = env;
    const result = await runCli(['job:types'], fromRoot, elsewhere);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('is the one DOTENV_CONFIG_PATH names, when set', async () => {
    const file = join(elsewhere, '.env');
    expect(envFilePath({ DOTENV_CONFIG_PATH: file })).toBe(file);

    const result = await runCli(['job:types'], { ...env, DOTENV_CONFIG_PATH: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error E_INVALID_CONFIG: invalid queue configuration: QUEUE_LEASE_MS/);
  });

  it('fails, naming the file, when DOTENV_CONFIG_PATH names one that is not there, rather than run on the defaults', async () => {
    const missing = join(elsewhere, 'typo.env');
    const result = await runCli(['route:list'], { ...env, DOTENV_CONFIG_PATH: missing });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^error E_INVALID_CONFIG: DOTENV_CONFIG_PATH names ${missing}, which could not be read`),
    );
    // set but empty (compose's ${X:-}): unset, as any other variable
    const empty = await runCli(['route:list'], { ...env, DOTENV_CONFIG_PATH: '' });
    expect(empty.stderr).toBe('');
    expect(empty.code).toBe(0);
  });
});

describe('on the in-memory driver (no REDIS_URL)', () => {
  const { REDIS_URL: _unset, ...withoutRedis } = cliEnv(uniquePrefix(), { LOG_LEVEL: 'info' });

  it('lists routes and jobs without warning that jobs are not durable, as they store nothing', async () => {
    for (const command of ['route:list', 'job:types']) {
      const result = await runCli([command, '--json'], withoutRedis);
      expect(result.code, command).toBe(0);
      expect(result.stderr, command).toBe('');
    }
  });

  it('still warns for a command that reads the queues, which live in its own memory', async () => {
    const result = await runCli(['queue:stats', '--json'], withoutRedis);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('"event":"queue.memory_driver"');
  });
});
