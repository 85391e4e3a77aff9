/**
 * The blocking connections of idle workers, on real Redis: an interrupted wait closes its
 * connection once. ioredis starts a 2 s timer with every disconnect() that only the socket's
 * close clears; a second disconnect() after the close left one running, and it held a stopped
 * worker's process open for 2 s (`queue:work` on SIGTERM exited by its forced exit).
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { BlockingPool } from '../../../core/queue/drivers/redis/blocking_pool.js';
import { sleep, uniqueQueue } from '../../support/queue_names.js';
import { TcpProxy } from '../../support/tcp_proxy.js';

const source = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
afterEach(() => vi.restoreAllMocks());
afterAll(() => source.disconnect());

/** The pool's connections, each with its disconnect() spied on. */
function spyConnections(): Redis[] {
  const made: Redis[] = [];
  const duplicate = source.duplicate.bind(source);
  vi.spyOn(source, 'duplicate').mockImplementation((...args) => {
    const connection = duplicate(...args);
    vi.spyOn(connection, 'disconnect');
    made.push(connection);
    return connection;
  });
  return made;
}

describe('BlockingPool', () => {
  it('closes an interrupted wait once, and leaves no ioredis timer to hold the process', async () => {
    const made = spyConnections();
    const pool = new BlockingPool(source);
    const key = uniqueQueue('bpool');
    const waiting = pool.wait([key], 30_000);
    while (made[0]?.status !== 'ready') await sleep(5);
    await sleep(50); // the BLPOP is sent and blocking
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    pool.interrupt();
    await waiting;
    await sleep(50);
    expect(made).toHaveLength(1);
    expect(made[0]?.status).toBe('end');
    expect(made[0]?.disconnect).toHaveBeenCalledTimes(1);
    // one disconnect timer, started by interrupt() and cleared by the close, and no other
    expect(timeouts.mock.calls.filter(([, ms]) => ms === 2000)).toHaveLength(1);
    await pool.close();
  });

  it('waits its time on a wake-up list Redis refuses (a key of another type), keeping its connection, and ends at interrupt()', async () => {
    const made = spyConnections();
    const pool = new BlockingPool(source);
    const key = uniqueQueue('bpool-refused');
    await source.set(key, 'damaged by hand');
    try {
      let started = performance.now();
      await pool.wait([key], 300);
      // before: the refused BLPOP returned at once, and its connection was closed for a new one
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      await pool.wait([key], 300);
      expect(made).toHaveLength(1);
      const waiting = pool.wait([key], 30_000);
      await sleep(100);
      started = performance.now();
      pool.interrupt();
      await waiting;
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await source.del(key);
      await pool.close();
    }
  });

  it('still wakes on the other lists of a wait Redis refuses for one of them', async () => {
    const pool = new BlockingPool(source);
    const [refused, healthy] = [uniqueQueue('bpool-refused'), uniqueQueue('bpool-healthy')];
    await source.set(refused, 'damaged by hand');
    try {
      const started = performance.now();
      const waiting = pool.wait([refused, healthy], 5_000);
      await sleep(100);
      await source.rpush(healthy, '1');
      await waiting;
      // before: the whole wait paused for its 5 s, deaf to the healthy list
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      await source.del(refused, healthy);
      await pool.close();
    }
  });

  it('keeps a wait that ended by its timeout for the next one', async () => {
    const made = spyConnections();
    const pool = new BlockingPool(source);
    const key = uniqueQueue('bpool');
    await pool.wait([key], 20);
    await pool.wait([key], 20);
    expect(made).toHaveLength(1);
    expect(made[0]?.disconnect).not.toHaveBeenCalled();
    await pool.close();
    expect(made[0]?.disconnect).toHaveBeenCalledTimes(1);
  });

  it('prints no ioredis "Unhandled error event" when Redis goes away during an idle wait', async () => {
    const proxy = await TcpProxy.start(6379);
    const through = new Redis(`redis://127.0.0.1:${proxy.port}`, { lazyConnect: true });
    const made: Redis[] = [];
    const duplicate = through.duplicate.bind(through);
    vi.spyOn(through, 'duplicate').mockImplementation((...args) => {
      const connection = duplicate(...args);
      made.push(connection);
      return connection;
    });
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const pool = new BlockingPool(through);
    try {
      const waiting = pool.wait([uniqueQueue('bpool')], 30_000);
      while (made[0]?.status !== 'ready') await sleep(5);
      await sleep(50); // the BLPOP is sent and blocking
      await proxy.cut(); // reconnects are refused from now on
      await waiting;
      await sleep(100);
      const unhandled = printed.mock.calls.filter(([text]) => String(text).includes('Unhandled error event'));
      expect(unhandled).toEqual([]);
    } finally {
      await pool.close();
      through.disconnect();
      await proxy.close();
    }
  });
});
