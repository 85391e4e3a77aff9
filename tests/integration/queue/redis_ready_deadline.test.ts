/**
 * A connection Redis accepted but never made ready (its INFO ready check unanswered) is closed
 * after the deadline, and ioredis connects again: its commands fail once their retries are
 * used up, instead of waiting for good. A ready connection is left alone.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { limitReadyWait } from '../../../core/queue/drivers/redis/ready_deadline.js';

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A server that accepts connections and answers nothing; counts the connections. */
async function silentServer(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  closers.push(close);
  return { port: (server.address() as { port: number }).port, connections: () => connections, close };
}

describe('limitReadyWait', () => {
  it('closes a connection that answers nothing, so a command fails after its retries, and says why', async () => {
    const { port, connections } = await silentServer();
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    closers.push(() => redis.disconnect());
    const readiness = limitReadyWait(redis, 200);
    const started = Date.now();
    await expect(redis.get('x')).rejects.toThrow(/max retries per request/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(connections()).toBeGreaterThanOrEqual(2);
    expect(readiness.unanswered).toBe(true);
  });

  it('leaves a connection that becomes ready alone', async () => {
    const redis = new Redis({ port: 6379, host: '127.0.0.1', lazyConnect: true });
    closers.push(() => redis.quit());
    const readiness = limitReadyWait(redis, 200);
    await redis.set('topiq-test-ready-deadline', '1', 'PX', 1000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(redis.status).toBe('ready');
    expect(await redis.get('topiq-test-ready-deadline')).toBe('1');
    expect(readiness.unanswered).toBe(false);
  });

  it('leaves a connection to a Redis that answers it is loading, however long that takes', async () => {
    // answers the first INFO "loading" for 3 s, then ready; every GET with nil
    let infos = 0;
    let connections = 0;
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('data', (chunk) => {
        // one answer per command, in order (ioredis sends CLIENT SETINFO first)
        for (const command of chunk
          .toString()
          .split(/\*\d+\r\n/)
          .slice(1)) {
          const name = command.split('\r\n')[1]?.toLowerCase();
          if (name === 'info') {
            const body = infos++ === 0 ? 'loading:1\r\nloading_eta_seconds:3\r\n' : 'loading:0\r\n';
            socket.write(`$${body.length}\r\n${body}\r\n`);
          } else if (name === 'get') {
            socket.write('$-1\r\n');
          } else {
            socket.write('+OK\r\n');
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as { port: number };
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    closers.push(() => redis.disconnect());
    const readiness = limitReadyWait(redis, 200);
    expect(await redis.get('x')).toBeNull();
    expect(connections).toBe(1);
    expect(infos).toBe(2);
    expect(readiness.unanswered).toBe(false);
  });

  it('fails a command written before the connection was ready (TIME, while ioredis waits for its check), instead of dropping it', async () => {
    const { port } = await silentServer();
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 3 });
    redis.on('error', () => {});
    closers.push(() => redis.disconnect());
    limitReadyWait(redis, 200);
    const first = redis.get('x').catch((error: Error) => error); // starts connecting
    while (redis.status !== 'connect') await new Promise((resolve) => setTimeout(resolve, 5));
    // ioredis writes TIME at once while it waits for the ready check; the next connection
    // dropped it, unsettled, for good
    const time = redis.time().then(
      () => 'answered',
      (error: Error) => `failed: ${error.message}`,
    );
    expect(await time).toBe('failed: Connection is closed.');
    expect(await first).toBeInstanceOf(Error);
  });

  it('no longer says "answered nothing" once the server refuses connections instead', async () => {
    const { port, close } = await silentServer();
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    closers.push(() => redis.disconnect());
    const readiness = limitReadyWait(redis, 200);
    await redis.get('x').catch(() => {});
    expect(readiness.unanswered).toBe(true);
    await close(); // nothing listens: ECONNREFUSED from here on
    await redis.get('x').catch(() => {});
    expect(readiness.unanswered).toBe(false);
  });
});
