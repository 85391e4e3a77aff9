/**
 * Blocking connections for idle workers. A worker with nothing to do blocks in BLPOP on
 * its queues' wake-up lists (pushed by dispatch and by reserve when work remains), so
 * an idle fleet costs Redis nothing. A blocking command holds its connection, so each
 * concurrent wait gets its own duplicate of the main connection, returned after use.
 */
import type { Redis } from 'ioredis';
import { MAX_TIMER_MS } from '../../../support/timers.js';

export class BlockingPool {
  readonly #source: Redis;
  readonly #idle: Redis[] = [];
  readonly #busy = new Set<Redis>();
  /** Ends the pauses of waits Redis refused (see `wait`), for `interrupt()`. */
  readonly #pauses = new Set<() => void>();
  #closed = false;

  constructor(source: Redis) {
    this.#source = source;
  }

  /** Resolves when one of `keys` gets a wake-up, after `timeoutMs`, or on `interrupt()`. */
  async wait(keys: readonly string[], timeoutMs: number): Promise<void> {
    if (this.#closed || keys.length === 0) return;
    const connection = this.#idle.pop() ?? this.#open();
    this.#busy.add(connection);
    // at most what a Node timer holds, for Redis too: past about 1e17 ms it refuses the timeout,
    // and each refused wait would open a new connection at once
    const waitMs = Math.min(timeoutMs, MAX_TIMER_MS);
    const seconds = Math.max(0.01, waitMs / 1000).toFixed(3);
    let guard: NodeJS.Timeout | undefined;
    let healthy = true;
    let refused = false;
    const started = performance.now();
    try {
      // The guard bounds the wait even while Redis is unreachable and ioredis is retrying.
      await Promise.race([
        connection.blpop(...keys, seconds),
        new Promise<void>((resolve) => {
          // at most what a Node timer holds: past it, Node fires it after 1 ms, which made a
          // worker with a sleep of 25 days or more open a new connection every few ms (a longer
          // wait ends at the guard, harmlessly, once every 24.8 days)
          guard = setTimeout(
            () => {
              healthy = false;
              resolve();
            },
            Math.min(waitMs + 2000, MAX_TIMER_MS),
          );
          guard.unref();
        }),
      ]);
    } catch (error) {
      // Redis refused the wait (a wake-up list replaced by hand by a key of another type): the
      // connection is fine (see below)
      if ((error as Error | undefined)?.name === 'ReplyError' && !this.#closed) refused = true;
      else healthy = false; // interrupted or Redis unreachable: the caller's next command reports it
    } finally {
      clearTimeout(guard);
      this.#busy.delete(connection);
      if (healthy && !this.#closed && connection.status === 'ready') this.#idle.push(connection);
      // not once more when interrupt() closed it already: each disconnect() of ioredis starts
      // a 2 s timer that only the socket's close clears, and that close has passed, so the
      // timer held a stopped worker's process open for 2 s
      else if (connection.status !== 'end') connection.disconnect();
    }
    if (!refused) return;
    // The wait goes on for its time on the lists still of their kind, or with none: asked again
    // at once, an idle worker would ask without end
    const left = Math.max(0, waitMs - (performance.now() - started));
    const lists = await this.#lists(keys);
    if (lists.length > 0 && lists.length < keys.length) await this.wait(lists, left);
    else await this.#pause(left);
  }

  /** The keys of `keys` that hold a list or nothing (a wake-up list may be waited on). */
  async #lists(keys: readonly string[]): Promise<string[]> {
    try {
      const types = await Promise.all(keys.map((key) => this.#source.type(key)));
      return keys.filter((_, index) => types[index] === 'list' || types[index] === 'none');
    } catch {
      return [];
    }
  }

  #open(): Redis {
    const connection = this.#source.duplicate({
      enableAutoPipelining: false,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    // Without a listener ioredis prints each failed reconnect of an idle worker as an
    // "Unhandled error event" on stderr. The wait that fails ends quietly, and the caller's
    // next command on the main connection reports Redis as unavailable.
    connection.on('error', () => {});
    return connection;
  }

  /** Resolves after `ms`, or at `interrupt()`. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#pauses.add(done);
    });
  }

  /** Ends every wait in progress at once. */
  interrupt(): void {
    for (const connection of this.#busy) connection.disconnect();
    for (const done of [...this.#pauses]) done();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.interrupt();
    for (const connection of this.#idle.splice(0)) connection.disconnect();
  }
}
