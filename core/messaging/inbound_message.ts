/** A message as the pipeline receives it, from the embedded broker or an MQTT subscription. */
import type { MqttMessageProperties } from '../mqtt/mqtt_message.js';

export interface InboundMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** True when this may be a redelivery. */
  readonly dup: boolean;
  /** MQTT 5 properties; empty under MQTT 3.1.1 and from the embedded broker. */
  readonly properties: MqttMessageProperties;
  /** The publishing client, when known (embedded broker). */
  readonly clientId?: string;
  /** The authenticated device that published it, when known (embedded broker). */
  readonly deviceId?: string;
}

/** Publishes a message from the application (replies, job events). */
export type Publisher = (
  topic: string,
  payload: string | Buffer,
  options?: { qos?: 0 | 1 | 2; retain?: boolean; properties?: MqttMessageProperties },
) => Promise<void>;
