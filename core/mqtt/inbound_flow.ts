/**
 * The inbound half of a connection: hands each PUBLISH to the consumer at once, sends its
 * acknowledgement only when the consumer has settled it and every earlier message, and
 * stops reading the socket while `maxInFlight` messages wait. Under MQTT 5 the broker is told
 * that limit (Receive Maximum), and reading stops only at twice it: a broker that keeps to the
 * limit never gets there, and the app's own publishes and subscribes get their answers read.
 * (Mosquitto 2.0.11 keeps to it only until acknowledgements come back, then sends past it.)
 * While reading is stopped the connection is kept alive by pings of Topiq's own
 * (`keepHeldConnectionAlive`): mqtt.js reads no PINGRESP then, and would drop a healthy
 * connection after 1.5 keepalives. A message the broker sends again after a reconnect while
 * the consumer still handles its first copy is not handed over twice: its acknowledgement
 * waits for that copy. How this bends mqtt.js's read loop is explained in `mqtt_internals.ts`.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';
import type { MessageConsumer } from './connection_options.js';
import {
  DEFERRED_ACK,
  isWritable,
  keepHeldConnectionAlive,
  sendPuback,
  sendPubcomp,
} from './mqtt_internals.js';
import { toMqttMessage } from './mqtt_message.js';
import { type AckTicket, OrderedAckQueue } from './ordered_ack_queue.js';

/**
 * Deferred, ordered, bounded acknowledgement of inbound messages for one MQTT client.
 *
 * @example
 * const flow = new InboundFlow(client, onMessage, 1000, log, protocolVersion === 5);
 * client.handleMessage = (packet, callback) => flow.receive(packet, callback);
 * client.on('close', () => flow.connectionLost());
 */
export class InboundFlow {
  readonly #client: MqttClient;
  readonly #consumer: MessageConsumer;
  /** Messages held at which reading stops: `maxInFlight`, or twice it where the broker knows it. */
  readonly #holdAt: number;
  readonly #log: Logger;
  readonly #acks = new OrderedAckQueue();
  #epoch = 0; // counts lost network connections; an ack from an older one is never sent
  #heldRead: (() => void) | undefined; // mqtt.js's read loop, held at #holdAt
  #delivering = true;
  /** Consumer calls not settled yet, of every network connection (not reset when one is lost). */
  #handling = 0;
  /** QoS 1 and 2 messages the consumer still handles, by packet id, to tell a redelivered copy (`done`: whether acknowledged). */
  readonly #unsettled = new Map<
    number,
    { topic: string; payload: Buffer | string; done: Promise<boolean> }
  >();
  #drained: (() => void) | undefined;

  /**
   * `brokerKeepsLimit`: the broker was told `maxInFlight` (MQTT 5 Receive Maximum) and sends
   * about that many unacknowledged messages at most, so reading stops only at twice it.
   */
  constructor(
    client: MqttClient,
    consumer: MessageConsumer,
    maxInFlight: number,
    log: Logger,
    brokerKeepsLimit = false,
  ) {
    this.#client = client;
    this.#consumer = consumer;
    this.#holdAt = brokerKeepsLimit ? 2 * maxInFlight : maxInFlight;
    this.#log = log;
  }

  /** Messages handed to the consumer and not yet acknowledged. */
  get inFlight(): number {
    return this.#acks.size;
  }

  /** mqtt.js's `handleMessage`: called once per inbound PUBLISH (QoS 2: on its PUBREL). */
  receive(packet: IPublishPacket, callback: (error?: Error) => void): void {
    // Closing, or a packet parsed before its connection closed and handled only after (mqtt.js
    // keeps working through parsed packets until the next connect): neither delivered nor
    // acknowledged, so the broker redelivers it. Delivering it could send its PUBACK on the next
    // connection, where the broker may have given that packet id to another message.
    if (!this.#delivering || !isWritable(this.#client)) {
      callback(DEFERRED_ACK);
      return;
    }
    const epoch = this.#epoch;
    const outcome = { acknowledge: true };
    const ticket = this.#acks.push(() => {
      if (outcome.acknowledge) this.#acknowledge(packet, epoch);
    });
    const firstCopy = this.#firstCopyOf(packet);
    if (firstCopy) {
      // sent again after a reconnect while its first copy is handled: acknowledged once that
      // is, if that is
      void firstCopy.then((acknowledge) => {
        outcome.acknowledge = acknowledge;
        this.#settle(ticket);
      });
    } else {
      this.#deliver(packet, ticket, outcome);
    }
    if (this.#overLimit()) {
      // Not calling back stops mqtt.js reading the socket, so TCP pushes back on the broker;
      // the connection is kept alive meanwhile, as mqtt.js reads no PINGRESP
      const stopPinging = keepHeldConnectionAlive(this.#client);
      this.#heldRead = () => {
        stopPinging();
        callback(DEFERRED_ACK);
      };
    } else {
      callback(DEFERRED_ACK);
    }
  }

  /**
   * The broker kept no session for this client (CONNACK `sessionPresent` false): it has no
   * message of an earlier connection left to send again, and may give their packet ids to new
   * ones, so none is taken for a copy of a message still being handled.
   */
  sessionLost(): void {
    this.#unsettled.clear();
  }

  /**
   * The network connection is gone: forget every pending acknowledgement (the broker
   * redelivers those messages) and let the old read loop finish. Returns how many were
   * dropped.
   */
  connectionLost(): number {
    this.#epoch += 1;
    const dropped = this.#acks.clear();
    this.#resumeReading();
    this.#drained?.();
    return dropped;
  }

  /**
   * Stops handing new messages to the consumer and waits up to `timeoutMs` for those it
   * holds to settle and be acknowledged. Later messages stay unacknowledged.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#delivering = false;
    if (timeoutMs > 0 && this.#acks.size > 0 && isWritable(this.#client)) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#drained = undefined;
    }
    this.#resumeReading();
  }

  /**
   * Hands `packet` to the consumer; its ticket is settled when the consumer is done. A consumer
   * that fails is acknowledged all the same (handled as far as it goes: a message that fails
   * every time must not come back forever), except once intake is stopping: the consumer's
   * store was closed then (the pipeline's `close()`, Redis away), so the message was not
   * stored, and stays unacknowledged for the broker to send again to the next run.
   */
  #deliver(packet: IPublishPacket, ticket: AckTicket, outcome: { acknowledge: boolean }): void {
    let result: Promise<void> | void;
    this.#handling += 1;
    try {
      result = this.#consumer(toMqttMessage(packet));
    } catch (error) {
      result = Promise.reject(error);
    }
    const done = Promise.resolve(result).then(
      () => true,
      (error: unknown) => {
        if (!this.#delivering) {
          this.#log.info(
            { event: 'mqtt.message_held_at_stop', err: error, topic: packet.topic },
            'message left unacknowledged: the app stopped before it was stored; the broker sends it again',
          );
          return false;
        }
        this.#log.error(
          { event: 'mqtt.consumer_failed', err: error, topic: packet.topic },
          'message consumer failed; acknowledging anyway',
        );
        return true;
      },
    );
    const id = packet.qos > 0 ? packet.messageId : undefined;
    if (id !== undefined) this.#unsettled.set(id, { topic: packet.topic, payload: packet.payload, done });
    void done.then((acknowledge) => {
      this.#handling -= 1;
      if (id !== undefined && this.#unsettled.get(id)?.done === done) this.#unsettled.delete(id);
      outcome.acknowledge = acknowledge;
      this.#settle(ticket);
    });
  }

  /**
   * The settling of the first copy of `packet`, when the broker sent it again (after a
   * reconnect) while the consumer still handles that copy: same packet id, topic and payload,
   * and for QoS 1 the DUP flag (a QoS 2 message comes back by its PUBREL, as it was stored).
   * A packet id is never in use twice on one session, so nothing else matches.
   */
  #firstCopyOf(packet: IPublishPacket): Promise<boolean> | undefined {
    if (packet.qos === 0 || packet.messageId === undefined || (packet.qos === 1 && !packet.dup))
      return undefined;
    const first = this.#unsettled.get(packet.messageId);
    if (first === undefined || first.topic !== packet.topic) return undefined;
    return Buffer.from(first.payload).equals(Buffer.from(packet.payload)) ? first.done : undefined;
  }

  /**
   * As many held as stop reading: unacknowledged messages of this connection, or consumer
   * calls of every connection (so reconnects cannot pile up QoS 0 messages, which the broker
   * does not count, handled while Redis is away).
   */
  #overLimit(): boolean {
    return this.#acks.size >= this.#holdAt || this.#handling >= this.#holdAt;
  }

  #settle(ticket: AckTicket): void {
    ticket.settle();
    if (!this.#overLimit()) this.#resumeReading();
    if (this.#acks.size === 0) this.#drained?.();
  }

  #acknowledge(packet: IPublishPacket, epoch: number): void {
    if (epoch !== this.#epoch || !isWritable(this.#client)) return;
    if (packet.qos === 1) sendPuback(this.#client, packet);
    else if (packet.qos === 2) sendPubcomp(this.#client, packet);
  }

  #resumeReading(): void {
    const read = this.#heldRead;
    this.#heldRead = undefined;
    read?.();
  }
}
