/**
 * `serve` and an error no code handled (a route's `void promise` that rejects, a throw in a
 * timer): a graceful stop and exit code 1, rather than Node ending the process at once with
 * the broker, its clients and the messages being handled cut off.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServeCommand } from '../../../bootstrap/commands/serve_command.js';
import { Kernel } from '../../../core/console/index.js';
import { freePort } from '../../support/net.js';
import { waitFor } from '../mqtt/mqtt_test_support.js';
import { captureIO } from '../../unit/console/capture_io.js';
import { connectAsync } from 'mqtt';

const saved = { LOG_LEVEL: process.env.LOG_LEVEL, REDIS_URL: process.env.REDIS_URL };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('serve and an error no code handled', () => {
  it('stops gracefully, closing its broker, and exits 1, though a second error comes', async () => {
    process.env.LOG_LEVEL = 'silent';
    delete process.env.REDIS_URL; // the memory driver: nothing to clean up
    const port = await freePort();
    const signals = new EventEmitter();
    const forceExit = vi.fn();
    const kernel = new Kernel({
      commands: [ServeCommand],
      io: captureIO(),
      signals,
      forceExit,
      createApplication: () => {
        throw new Error('serve builds its own application');
      },
    });
    const exit = kernel.handle(['serve', `--port=${port}`]);
    // listening: a client connects
    await waitFor(() => signals.listenerCount('unhandledRejection') === 1);
    let client: Awaited<ReturnType<typeof connectAsync>> | undefined;
    const deadline = Date.now() + 5000;
    while (!client && Date.now() < deadline) {
      client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
        reconnectPeriod: 0,
        username: 'probe',
        password: 'x',
      }).catch(() => undefined);
    }
    expect(client).toBeDefined();
    const closed = new Promise<void>((resolve) => client!.once('close', () => resolve()));
    signals.emit('unhandledRejection', new Error('floating rejection in a route'));
    signals.emit('uncaughtException', new Error('and a throw in a timer'));
    expect(await exit).toBe(1);
    expect(forceExit).not.toHaveBeenCalled(); // the second is logged while the stop goes on
    await closed; // the broker was closed, as on SIGTERM
    expect(signals.listenerCount('unhandledRejection')).toBe(0);
    expect(signals.listenerCount('uncaughtException')).toBe(0);
    await client!.endAsync(true);
  });
});
