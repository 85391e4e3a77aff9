/**
 * Keeps a client that does not read its socket from holding up the broker. aedes delivers each
 * message through its emitter, which runs at most 100 deliveries at once (`concurrency`), and
 * counts a delivery done only once the client's socket has taken it (its `waitForDrain`, up to
 * the 60 s `drainTimeout`): a device that subscribed and stopped reading took every place
 * within a second, every message to every client waited behind it, and those published
 * meanwhile piled up in memory (232 MB in 3 s in one hunt's run, measured once; the bounds are
 * proven by tests/integration/broker/embedded_broker_slow_readers.test.ts). Here a delivery of a subscription
 * counts as done for the emitter once it is handed to the client (its write goes on, and waits
 * for the socket as before), and a message for a client whose socket holds more than
 * `maxBytes` unsent (`MQTT_BROKER_MAX_QUEUED_BYTES`) is dropped for it (others still get it),
 * as a full queue's is. What a client holds may pass `maxBytes` by the deliveries under way
 * (at most aedes's 100 messages).
 *
 * The rest keeps aedes's pace: the retained messages sent at a SUBSCRIBE and a resumed
 * session's queue are sent one after another as the socket takes them, and aedes's answers to
 * a client's own packets (PUBACK, PINGRESP...) wait for its socket, which stops reading a
 * client that does not read them. aedes's drain timeout still closes a client whose socket has
 * not emptied for 60 s: one that stopped reading, or one that cannot keep up with what it is
 * sent. One line is logged when a client's buffer fills, and one when it has room again; a
 * client's writes failing at its close are logged once, not once each.
 */
import type { Aedes, Client } from 'aedes';
import type { Logger } from '../logger.js';

type Deliver = (packet: unknown, done: (error?: unknown) => void) => void;

/** A client as aedes builds it: its socket, and its error handler. */
interface ClientInternals {
  readonly id: string;
  readonly conn: { readonly writableLength: number };
  errored?: boolean;
  _onError(error: unknown): void;
}

/** What {@link slowReaders} gives back. */
export interface SlowReaders {
  /** Hands the deliveries of `aedes`'s subscriptions over without waiting for the sockets. */
  install(aedes: Aedes): void;
  /** Has a new client log the failure of its writes once (give it aedes's new client). */
  adopt(client: unknown): void;
  /** Whether to send `client` another message now: false while its socket holds too much unsent. */
  mayWrite(client: Client): boolean;
}

const ignore = () => {};

/** Builds the guard for one broker, bounding each client's unsent bytes at `maxBytes`. */
export function slowReaders(maxBytes: number, logger: Logger): SlowReaders {
  const full = new WeakSet<object>();
  /** One wrapper per subscription function: an unsubscribe names the function it subscribed. */
  const handedOver = new WeakMap<Deliver, Deliver>();
  const handOver = (deliver: Deliver): Deliver => {
    let wrapped = handedOver.get(deliver);
    if (wrapped === undefined) {
      wrapped = (packet, done) => {
        deliver(packet, ignore);
        setImmediate(done);
      };
      handedOver.set(deliver, wrapped);
    }
    return wrapped;
  };
  return {
    install(aedes) {
      const broker = aedes as unknown as {
        subscribe(topic: string, deliver: Deliver, done?: () => void): void;
        unsubscribe(topic: string, deliver: Deliver, done?: () => void): void;
      };
      const subscribe = broker.subscribe.bind(aedes);
      const unsubscribe = broker.unsubscribe.bind(aedes);
      broker.subscribe = (topic, deliver, done) => subscribe(topic, handOver(deliver), done);
      broker.unsubscribe = (topic, deliver, done) => unsubscribe(topic, handOver(deliver), done);
    },
    adopt(client) {
      // each write waiting for the socket fails at its close, and aedes reports each: by a call
      // (QoS 0) or as the client's 'error' event (QoS 1/2), whose listener its constructor set
      const internals = client as ClientInternals & {
        off(event: 'error', listener: (error: unknown) => void): void;
        on(event: 'error', listener: (error: unknown) => void): void;
      };
      const original = internals._onError;
      const once = (error: unknown) => {
        if (!internals.errored) original.call(client, error);
      };
      internals.off('error', original);
      internals.on('error', once);
      internals._onError = once;
    },
    mayWrite(client) {
      const { id, conn } = client as unknown as ClientInternals;
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
