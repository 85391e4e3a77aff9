/**
 * Keeps a client that does not read its socket from holding up the broker. aedes delivers each
 * message through its emitter, which runs at most 100 deliveries at once (`concurrency`), and
 * counts a delivery done only once the client's socket has taken it (its `waitForDrain`, up to
 * the 60 s `drainTimeout`): a device that subscribed and stopped reading took every place
 * within a second, every message to every client waited behind it, and those published
 * meanwhile piled up in memory (a hunt saw 232 MB in 3 s). Here a delivery counts as done for
 * the emitter once it is handed to the client (its write goes on, and waits for the drain as
 * before), and a message for a client whose socket holds more than `maxBytes` unsent
 * (`MQTT_BROKER_MAX_QUEUED_BYTES`) is dropped for it (others still get it), as a full queue's
 * is. What a client holds may pass `maxBytes` by the deliveries under way (at most aedes's 100
 * messages). aedes's answers to a client's own packets (PUBACK, PINGRESP...) still wait for
 * its socket, which stops reading a client that does not read them, and its drain timeout
 * still closes a client that reads nothing for 60 s. One line is logged when a client's buffer
 * fills, and one when it has room again.
 */
import type { Client } from 'aedes';
import type { Logger } from '../logger.js';

type Deliver = (packet: unknown, done: (error?: unknown) => void) => void;

/** A client as aedes builds it: its socket, and the delivery functions its subscriptions use. */
interface ClientDeliveries {
  readonly id: string;
  readonly conn: { readonly writableLength: number };
  deliver0: Deliver;
  deliverQoS: Deliver;
}

/** What {@link slowReaders} gives back. */
export interface SlowReaders {
  /** Has a new client's deliveries count as done once handed to it (give it aedes's new client). */
  adopt(client: unknown): void;
  /** Whether to send `client` another message now: false while its socket holds too much unsent. */
  mayWrite(client: Client): boolean;
}

const ignore = () => {};

/** Builds the guard for one broker, bounding each client's unsent bytes at `maxBytes`. */
export function slowReaders(maxBytes: number, logger: Logger): SlowReaders {
  const full = new WeakSet<object>();
  /** `deliver` with the emitter's callback called at once: the write's own outcome is the client's. */
  const handedOver =
    (deliver: Deliver): Deliver =>
    (packet, done) => {
      deliver(packet, ignore);
      setImmediate(done);
    };
  return {
    adopt(client) {
      // aedes sets both in the client's constructor; its subscriptions take them when made
      const deliveries = client as ClientDeliveries;
      deliveries.deliver0 = handedOver(deliveries.deliver0);
      deliveries.deliverQoS = handedOver(deliveries.deliverQoS);
    },
    mayWrite(client) {
      const { id, conn } = client as unknown as ClientDeliveries;
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
