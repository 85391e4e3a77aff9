/**
 * The message a consumer receives, and the options of an outgoing publish: plain data
 * copied from mqtt-packet's packets so the rest of Topiq never imports mqtt.js types.
 */
import type { IPublishPacket } from 'mqtt';

/** A delivery guarantee level. */
export type QoS = 0 | 1 | 2;

/** MQTT 5 publish properties Topiq passes through (all absent under MQTT 3.1.1). */
export interface MqttMessageProperties {
  /** Topic the sender wants a reply on (request/response). */
  responseTopic?: string;
  /** Opaque bytes the sender wants echoed in the reply. */
  correlationData?: Buffer;
  /**
   * Application key/value pairs, as the sender set them, in an object without a prototype; a
   * key sent more than once maps to an array.
   */
  userProperties?: Record<string, string | string[]>;
  /** MIME type of the payload, e.g. `application/json`. */
  contentType?: string;
  /** Seconds the broker keeps the message for an offline subscriber. */
  messageExpiryInterval?: number;
  /** True when the sender declared the payload UTF-8 text. */
  payloadFormatIndicator?: boolean;
}

/** One message delivered to the consumer. */
export interface MqttMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  /** True when the broker sent a retained message (only on a new subscription). */
  retain: boolean;
  /** True when this is a redelivery of a message the app may already have seen. */
  dup: boolean;
  properties: MqttMessageProperties;
}

/** Options of {@link MqttConnection.publish}. */
export interface PublishOptions {
  /** Default 0. With 1 or 2 the returned promise waits for the broker's acknowledgement. */
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 only; ignored under MQTT 3.1.1. */
  properties?: MqttMessageProperties;
}

/**
 * Copies a PUBLISH packet into an {@link MqttMessage}.
 *
 * The topic is read from the packet as is: Topiq never advertises a Topic Alias Maximum,
 * so the broker may not replace topics by aliases and `packet.topic` is always complete.
 *
 * @example
 * const message = toMqttMessage(packet);
 * message.properties.contentType; // 'application/json'
 */
export function toMqttMessage(packet: IPublishPacket): MqttMessage {
  const source = packet.properties ?? {};
  const properties: MqttMessageProperties = {};
  if (source.responseTopic !== undefined) properties.responseTopic = source.responseTopic;
  if (source.correlationData !== undefined) properties.correlationData = source.correlationData;
  // without a prototype, as mqtt-packet builds them: a device's property names (`constructor`,
  // `toString`) must not meet Object.prototype's members
  if (source.userProperties !== undefined) {
    properties.userProperties = Object.assign(Object.create(null), source.userProperties);
  }
  if (source.contentType !== undefined) properties.contentType = source.contentType;
  if (source.messageExpiryInterval !== undefined) {
    properties.messageExpiryInterval = source.messageExpiryInterval;
  }
  if (source.payloadFormatIndicator !== undefined) {
    properties.payloadFormatIndicator = source.payloadFormatIndicator;
  }
  return {
    topic: packet.topic,
    payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
    qos: packet.qos,
    retain: packet.retain,
    dup: packet.dup,
    properties,
  };
}
