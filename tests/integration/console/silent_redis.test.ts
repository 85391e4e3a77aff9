/**
 * A Redis that accepts the connection and answers nothing (a hung server, the port of another
 * service that waits for its client to speak first, a link that drops packets after the
 * handshake): a command fails with E_REDIS_UNAVAILABLE saying so, and `queue:work` stops on
 * SIGTERM, instead of both waiting for ever on ioredis's unanswered ready check.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../support/until.js';
import { cliEnv, startCli } from './cli_harness.js';

let server: Server;
let port: number;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {}); // reads everything, answers nothing
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('against a Redis that accepts connections and answers nothing', () => {
  it('a command fails with E_REDIS_UNAVAILABLE naming the address and what it saw, exit 1', async () => {
    const cli = startCli(
      ['queue:size'],
      cliEnv('topiq-test-silent', { REDIS_URL: `redis://127.0.0.1:${port}` }),
    );
    const { code, stdout, stderr } = await cli.done;
    expect(stderr).toMatch(
      new RegExp(
        `^error E_REDIS_UNAVAILABLE: Redis at 127\\.0\\.0\\.1:${port} did not answer \\(it accepted the connection but answered nothing within 2 s`,
      ),
    );
    expect(stdout).toBe('');
    expect(code).toBe(1);
  });

  it('queue:work stops on SIGTERM within its grace period, though nothing it asked was answered', async () => {
    const cli = startCli(
      ['queue:work', '--queue=silent'],
      cliEnv('topiq-test-silent', {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        LOG_LEVEL: 'info',
        QUEUE_SHUTDOWN_GRACE_MS: '1000',
      }),
    );
    await until('the worker started', () => cli.stdout.includes('worker.started'));
    cli.child.kill('SIGTERM');
    const sent = Date.now();
    const { code } = await cli.done;
    // the grace period, then at most a few seconds for what Redis would not take back
    expect(Date.now() - sent).toBeLessThan(12_000);
    expect(code).toBe(0);
    expect(cli.stdout).toContain('worker.stopped');
  });
});
