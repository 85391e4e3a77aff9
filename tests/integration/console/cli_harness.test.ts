/**
 * The console tests' harness itself: the CLI it starts reads only the environment a test
 * gives it (not the user's `.env`), and does not outlive the test that started it.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, deletePrefix, NO_ENV_FILE, startCli, uniquePrefix, waitFor } from './cli_harness.js';

describe('cliEnv', () => {
  it('points DOTENV_CONFIG_PATH at an empty file, so the project .env is not read', () => {
    expect(cliEnv(uniquePrefix())).toMatchObject({ DOTENV_CONFIG_PATH: NO_ENV_FILE });
  });
});

describe('startCli', () => {
  const prefix = uniquePrefix();
  let worker: ChildProcess | undefined;
  // should the harness not kill it, this test file does not leave it running either
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await deletePrefix(prefix);
  });

  it('starts a command that runs until stopped (a worker on an empty queue)', async () => {
    const started = startCli(['queue:work', `--queue=${prefix}-idle`], cliEnv(prefix, { LOG_LEVEL: 'info' }));
    worker = started.child;
    await waitFor(() => started.stdout.includes('"event":"worker.started"'), 10_000);
    // the test ends without stopping it, as one that failed or timed out would
  });

  it('kills a command still running when the test that started it ended', async () => {
    const child = worker;
    if (!child) throw new Error('the worker of the previous test did not start');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 5_000);
    expect(child.signalCode).toBe('SIGKILL');
  });
});
