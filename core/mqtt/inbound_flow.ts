/**
 * The inbound half of a connection: hands each PUBLISH to the consumer at once, sends its
 * acknowledgement only when the consumer has settled it and every earlier message, and
 * stops reading the socket while `maxInFlight` messages wait. How this bends mqtt.js's
 * read loop is explained in `mqtt_internals.ts`.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';
import type { MessageConsumer } from './connection_options.js';
import { DEFERRED_ACK, isWritable, sendPuback, sendPubcomp } from './mqtt_internals.js';
import { toMqttMessage } from './mqtt_message.js';
import { type AckTicket, OrderedAckQueue } from './ordered_ack_queue.js';

/**
 * Deferred, ordered, bounded acknowledgement of inbound messages for one MQTT client.
 *
 * @example
 * const flow = new InboundFlow(client, onMessage, 1000, log);
 * client.handleMessage = (packet, callback) => flow.receive(packet, callback);
 * client.on('close', () => flow.connectionLost());
 */
export class InboundFlow {
  readonly #client: MqttClient;
  readonly #consumer: MessageConsumer;
  readonly #maxInFlight: number;
  readonly #log: Logger;
  readonly #acks = new OrderedAckQueue();
  #epoch = 0; // counts lost network connections; an ack from an older one is never sent
  #heldRead: (() => void) | undefined; // mqtt.js's read loop, held while maxInFlight is reached
  #delivering = true;
  #drained: (() => void) | undefined;

  constructor(client: MqttClient, consumer: MessageConsumer, maxInFlight: number, log: Logger) {
    this.#client = client;
    this.#consumer = consumer;
    this.#maxInFlight = maxInFlight;
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
    const ticket = this.#acks.push(() => this.#acknowledge(packet, epoch));
    this.#deliver(packet, ticket);
    if (this.#acks.size >= this.#maxInFlight) {
      // Not calling back stops mqtt.js reading the socket, so TCP pushes back on the broker.
      this.#heldRead = () => callback(DEFERRED_ACK);
    } else {
      callback(DEFERRED_ACK);
    }
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

  #deliver(packet: IPublishPacket, ticket: AckTicket): void {
    let result: Promise<void> | void;
    try {
      result = this.#consumer(toMqttMessage(packet));
    } catch (error) {
      result = Promise.reject(error);
    }
    Promise.resolve(result).then(
      () => this.#settle(ticket),
      (error: unknown) => {
        this.#log.error({ err: error, topic: packet.topic }, 'message consumer failed; acknowledging anyway');
        this.#settle(ticket);
      },
    );
  }

  #settle(ticket: AckTicket): void {
    ticket.settle();
    if (this.#acks.size < this.#maxInFlight) this.#resumeReading();
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
