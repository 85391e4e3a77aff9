/**
 * The real `npx topiq` binary as a child process against real Redis. Each spawn costs
 * about half a second, so this file checks the process boundary (exit codes, streams,
 * signals) and the worker-to-failed-store path; the other commands run in-process in
 * queue_commands.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envFilePath } from '../../../bootstrap/env_file.js';
import type { Application } from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import {
  buildApplication,
  cliEnv,
  deletePrefix,
  runCli,
  startCli,
  uniquePrefix,
  waitFor,
} from './cli_harness.js';

const prefix = uniquePrefix();
const env = cliEnv(prefix);
let app: Application;

beforeAll(() => {
  app = buildApplication(env);
});

afterAll(async () => {
  await app.close();
  await deletePrefix(prefix);
});

/** Stores a job whose name no registry knows, so any worker fails it at once. */
async function pushUnregistered(id: string, queue: string): Promise<void> {
  await app.driver.push([{ id, name: 'NoSuchJob', queue, payload: '{"n":1}', maxTries: 0, priority: 0 }]);
}

describe('npx topiq (usage)', () => {
  it.concurrent('prints the command list for --help and exits 0', async () => {
    const result = await runCli(['--help'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('queue:work');
    expect(result.stdout).toContain('queue:prune-failed');
    expect(result.stderr).toBe('');
  });

  it.concurrent('rejects an unknown flag with a one-line message and exit code 2', async () => {
    const result = await runCli(['queue:size', '--colour'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error E_CLI_USAGE: unknown option '--colour'. Run "npx topiq queue:size --help" to see its arguments and flags.\n`,
    );
    expect(result.stdout).toBe('');
  });

  it.concurrent('rejects queue:work --concurrency=0 with exit code 2 before starting a worker', async () => {
    const result = await runCli(['queue:work', '--concurrency=0'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/argument '0' is invalid\. Expected a whole number from 1 to 10000/);
  });
});

describe('npx topiq serve (flags it would ignore)', () => {
  it.concurrent('refuses --queue, --concurrency and --prefetch without --workers, with exit code 2', async () => {
    const result = await runCli(['serve', '--queue=alerts', '--concurrency=3', '--prefetch=0'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error E_CLI_USAGE: --queue, --concurrency and --prefetch apply to the workers of --workers/,
    );
    const one = await runCli(['serve', '--prefetch=0'], env);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/^error E_CLI_USAGE: --prefetch applies to the workers of --workers/);
  });

  it.concurrent('refuses --port when MQTT_URL points serve at another broker', async () => {
    const result = await runCli(['serve', '--port=1999'], { ...env, MQTT_URL: 'mqtt://127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/MQTT_URL is set, so serve uses that broker/);
  });

  it.concurrent('refuses a port not written in decimal digits, which was read as port 80', async () => {
    const result = await runCli(['serve', '--port=0x50'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Expected a TCP port from 0 to 65535/);
  });
});

describe('npx topiq (failed jobs)', () => {
  it('fails an unknown job in queue:work --stop-when-empty, lists it as JSON and retries it', async () => {
    const [first, second] = [`${prefix}-a`, `${prefix}-b`];
    await pushUnregistered('ghost-a', first);
    await pushUnregistered('ghost-b', second);
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'ops@example.com', subject: 'hi', body: '' },
      {
        queue: first,
      },
    );

    const work = await runCli(['queue:work', `--queue=${first},${second}`, '--stop-when-empty'], env);
    expect(work.code).toBe(0);
    expect(work.stdout).toContain('"event":"job.failed"'); // the worker's pino logs, nothing else
    expect(await app.driver.getJob(first, 'ghost-a')).toMatchObject({
      status: 'failed',
      error: { code: 'E_JOB_NOT_REGISTERED' },
    });
    expect(await app.driver.counts(first)).toMatchObject({ completed: 1, failed: 1 });

    const failed = await runCli(['queue:failed', '--json'], env);
    expect(failed.code).toBe(0);
    const records = JSON.parse(failed.stdout) as { id: string }[];
    expect(records.map((record) => record.id).sort()).toEqual(['ghost-a', 'ghost-b']);
    expect(records.find((record) => record.id === 'ghost-a')).toMatchObject({
      name: 'NoSuchJob',
      queue: first,
      payload: { n: 1 },
      attempts: 1,
      error: { code: 'E_JOB_NOT_REGISTERED', message: expect.stringContaining('NoSuchJob') },
      failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    const retry = await runCli(['queue:retry', 'all', `--queue=${second}`], env);
    expect(retry).toMatchObject({ code: 0, stdout: 'Pushed 1 failed job back onto its queue.\n' });
    expect(await app.driver.counts(second)).toMatchObject({ waiting: 1, failed: 0 });
    expect(await app.driver.counts(first)).toMatchObject({ failed: 1 });
  });
});

describe('npx topiq queue:work (signals)', () => {
  it('stops gracefully on SIGTERM and exits 0', async () => {
    const queue = `${prefix}-signal`;
    const worker = startCli(['queue:work', `--queue=${queue}`], { ...env, LOG_LEVEL: 'info' });
    await waitFor(() => worker.stdout.includes('"event":"worker.started"'), 10_000);
    await app.dispatcher.dispatchByName(
      'SendEmailJob',
      { to: 'ops@example.com', subject: 'hi', body: '' },
      {
        queue,
      },
    );
    worker.child.kill('SIGTERM');
    const result = await worker.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"event":"worker.stopped"');
    // The job either finished before the signal or was released back to its queue.
    const counts = await app.driver.counts(queue);
    expect(counts.running).toBe(0);
    expect(counts.waiting + counts.completed).toBe(1);
  });
});

describe('npx topiq serve (signals)', () => {
  it('stops at once, exit 0, on SIGTERM while its broker does not answer yet', async () => {
    const port = await freePort(); // nothing listens: the connection keeps trying (10 s by default)
    const server = startCli(['serve'], { ...env, LOG_LEVEL: 'info', MQTT_URL: `mqtt://127.0.0.1:${port}` });
    await waitFor(() => server.stdout.includes('connecting to MQTT broker'), 10_000);
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const result = await server.done;

    expect(result.code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    expect(result.stderr).not.toContain('E_BROKER_UNAVAILABLE');
    // stopped before it was ready: it never says it is
    expect(result.stdout).not.toContain('"event":"server.ready"');
  });

  it('logs server.stopped last, with the signal and how long the stop took', async () => {
    const port = String(await freePort());
    const server = startCli(['serve', `--port=${port}`], { ...env, LOG_LEVEL: 'info' });
    await waitFor(() => server.stdout.includes('"event":"server.ready"'), 10_000);
    server.child.kill('SIGTERM');
    const result = await server.done;

    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(last).toMatchObject({
      event: 'server.stopped',
      reason: 'SIGTERM',
      durationMs: expect.any(Number),
      msg: 'server stopped',
    });
    expect(last.durationMs).toBeLessThan(5_000);
    expect(lines.filter((line) => line.includes('"event":"server.stopped"'))).toHaveLength(1);
  });

  it.each(['serve', 'serve --port 0', 'route:list'])(
    '%s: reports the bad values of every config section at once, exit 1',
    async (line) => {
      const badEnv = { ...env, LOG_LEVEL: 'loud', QUEUE_LEASE_MS: 'long', MQTT_BROKER_PORT: 'x' };
      const result = await runCli(line.split(' '), badEnv);

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error E_INVALID_CONFIG: invalid app configuration: LOG_LEVEL.*; invalid queue configuration: QUEUE_LEASE_MS.*; invalid mqtt configuration: MQTT_BROKER_PORT/m,
      );
      // the .env it read: the empty file cliEnv names, never the project's own .env
      expect(result.stderr).toContain(`Fix the environment or ${envFilePath(badEnv)} (see .env.example)`);
    },
  );

  it('refuses to run on the in-memory driver under NODE_ENV=production without REDIS_URL, exit 1', async () => {
    const { REDIS_URL: _unset, ...withoutRedis } = env;
    const result = await runCli(['serve'], {
      ...withoutRedis,
      NODE_ENV: 'production',
      MQTT_DEVICES: 'sensor-1:pw',
      MQTT_BROKER_PORT: String(await freePort()),
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error E_INVALID_CONFIG: NODE_ENV=production and no REDIS_URL/m);
  });

  it('names every production requirement serve lacks in one error: REDIS_URL and the broker accounts', async () => {
    const { REDIS_URL: _unset, ...withoutRedis } = env;
    const result = await runCli(['serve'], {
      ...withoutRedis,
      NODE_ENV: 'production',
      MQTT_BROKER_PORT: String(await freePort()),
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error E_INVALID_CONFIG: NODE_ENV=production and no REDIS_URL.*; the embedded broker requires passwords but no accounts are configured: set MQTT_DEVICES/m,
    );
  });
});
