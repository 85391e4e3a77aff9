/**
 * Ends a connection that Redis accepted but never answered. ioredis checks a new connection
 * with INFO before it sends anything else, and waits for that answer without end (ioredis
 * #634): a server that accepts the connection and answers nothing (a hung Redis, the port of
 * another service that waits for its client to speak first, a link that drops packets after
 * the handshake) held every command in ioredis's offline queue for good, so a CLI command hung
 * and a worker never logged a failed reserve. When nothing at all has come back
 * {@link READY_WAIT_MS} after the connection, it is closed with an error: ioredis connects
 * again, and the commands waiting fail once their retries are used up (`maxRetriesPerRequest`),
 * as they do when Redis refuses the connection. Any answer ends the wait: a Redis loading its
 * dataset answers "loading", and ioredis asks again until it is done, however long that takes.
 */
import type { Redis } from 'ioredis';

/** How long a connection Redis accepted may take to answer anything, in ms. */
export const READY_WAIT_MS = 2_000;

/**
 * The commands ioredis writes before a connection is ready that Topiq's callers wait for (a
 * server's TIME, a cancel's PUBLISH); its own (INFO, CLIENT SETINFO) it handles itself.
 */
const SETTLED_BY_CALLERS = new Set(['time', 'publish']);

/** What {@link limitReadyWait} tells of the connection it watches. */
export interface ReadyDeadline {
  /** Whether the latest connection was closed for answering nothing (until one is ready). */
  readonly unanswered: boolean;
}

/**
 * Watches `redis`'s connections: one that answered nothing `ms` after it connected is closed.
 * A connection without a ready check (a subscriber's, ready as soon as it connects) gives
 * `awaitsAnswer`: whether it sent something that must be answered (its SUBSCRIBE).
 */
export function limitReadyWait(
  redis: Redis,
  ms = READY_WAIT_MS,
  awaitsAnswer?: () => boolean,
): ReadyDeadline {
  let timer: NodeJS.Timeout | undefined;
  let unanswered = false;
  /** The error the latest connection was closed with here: any other ends `unanswered`. */
  let deadlineError: Error | undefined;
  redis.on('connect', () => {
    clearTimeout(timer);
    const { stream } = redis;
    timer = setTimeout(() => {
      if (awaitsAnswer ? !awaitsAnswer() : redis.status !== 'connect') return;
      unanswered = true;
      // Commands ioredis writes before the connection is ready (PUBLISH, TIME: those allowed
      // while Redis loads) wait in its command queue, which the next connection drops without
      // settling them: they fail now instead. A connection that was ready (a subscriber's) has
      // its commands sent again by ioredis.
      if (redis.status === 'connect') {
        const closed = new Error('Connection is closed.');
        for (let i = 0; i < redis.commandQueue.length; i++) {
          const { command } = redis.commandQueue.peekAt(i)!;
          if (SETTLED_BY_CALLERS.has(command.name)) command.reject(closed);
        }
      }
      deadlineError = new Error(`connected, but no answer within ${ms} ms`);
      stream.destroy(deadlineError);
    }, ms);
    timer.unref();
    // any answer will do (see above: a Redis loading its dataset)
    stream.once('data', () => clearTimeout(timer));
  });
  redis.on('ready', () => {
    if (!awaitsAnswer) clearTimeout(timer);
    unanswered = false;
  });
  redis.on('close', () => clearTimeout(timer));
  // a later failure of another kind (the server now refuses connections) is not "answered nothing"
  redis.on('error', (error: unknown) => {
    // (ioredis reports the commands it gave up on as an error too: that one says nothing new)
    if (error !== deadlineError && (error as Error | undefined)?.name !== 'MaxRetriesPerRequestError') {
      unanswered = false;
    }
  });
  return {
    get unanswered() {
      return unanswered;
    },
  };
}
