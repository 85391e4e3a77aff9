/**
 * `npx topiq serve | true`: the log's reader is gone before the command listens for it. On the
 * in-memory driver serve's first line (the warning that the driver keeps nothing) is written
 * while the server is built, and pino drops every line after that write's EPIPE, so no later
 * write could tell the command. The logger records its reader gone from its creation, so serve
 * still stops gracefully, exit code 0; it ran on, logging to nobody, until killed.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../../support/net.js';
import { NO_ENV_FILE, startCli, waitFor } from './cli_harness.js';

describe('a long-running command whose log reader is gone before it listens', () => {
  it('serve on the memory driver, its stdout closed at once: stops gracefully, exit 0', async () => {
    // no REDIS_URL: the in-memory driver, whose warning is serve's first line
    const env = {
      LOG_LEVEL: 'info',
      MQTT_BROKER_PORT: String(await freePort()),
      DOTENV_CONFIG_PATH: NO_ENV_FILE,
      DOTENV_CONFIG_QUIET: 'true',
    };
    const server = startCli(['serve'], env);
    // the reader goes before the child wrote anything, as `true` exits without reading
    server.child.stdout?.destroy();
    const ended = () => server.child.exitCode !== null || server.child.signalCode !== null;
    // not the harness's 25 s limit: a process that runs on is this test's failure
    await waitFor(ended, 8_000).catch(() => server.child.kill('SIGKILL'));
    const result = await server.done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
