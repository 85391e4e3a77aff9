/**
 * Keeps a client that does not read its socket from holding up the broker. aedes waits for a
 * client's socket to drain before it counts a delivery done (`waitForDrain`, up to its 60 s
 * `drainTimeout`), and runs at most 100 deliveries at once (its emitter's `concurrency`): a
 * device that subscribed and stopped reading took every place within a second, every message
 * to every client waited behind it, and those published meanwhile piled up in memory (a hunt
 * saw 232 MB in 3 s). Here no delivery waits for a drain: a write that fills a socket's buffer
 * counts as done, and a message for a client whose socket holds more than `maxBytes` unsent
 * (`MQTT_BROKER_MAX_QUEUED_BYTES`) is dropped for it (others still get it), as a full queue's
 * is. A client holds that much unsent only when it reads slower than it is sent to; what it
 * holds may pass `maxBytes` by the deliveries under way (at most aedes's 100 messages).
 * One line is logged when a client's buffer fills, and one when it has room again.
 */
import type { Client } from 'aedes';
import type { Logger } from '../logger.js';

/** A client as aedes builds it: its socket, and the drain wait replaced here. */
interface ClientWrites {
  readonly id: string;
  readonly conn: { readonly writableLength: number };
  waitForDrain(callback: (error: Error | null, client: unknown) => void): void;
}

/** What {@link slowReaders} gives back. */
export interface SlowReaders {
  /** Makes a new client's writes count as done when buffered (give it aedes's new client). */
  adopt(client: unknown): void;
  /** Whether to send `client` another message now: false while its socket holds too much unsent. */
  mayWrite(client: Client): boolean;
}

/** Builds the guard for one broker, bounding each client's unsent bytes at `maxBytes`. */
export function slowReaders(maxBytes: number, logger: Logger): SlowReaders {
  const full = new WeakSet<object>();
  return {
    adopt(client) {
      (client as ClientWrites).waitForDrain = (callback) => setImmediate(callback, null, client);
    },
    mayWrite(client) {
      const { id, conn } = client as unknown as ClientWrites;
      const unsent = conn.writableLength;
      if (unsent <= maxBytes) {
        if (full.delete(client)) {
          logger.info(
            { event: 'broker.client_reading', clientId: id, unsent, limit: maxBytes },
            'mqtt client reads again: messages for it are sent again',
          );
        }
        return true;
      }
      if (!full.has(client)) {
        full.add(client);
        logger.warn(
          { event: 'broker.client_not_reading', clientId: id, unsent, limit: maxBytes },
          'mqtt client does not read what it is sent: messages for it are dropped until it does (MQTT_BROKER_MAX_QUEUED_BYTES)',
        );
      }
      return false;
    },
  };
}
