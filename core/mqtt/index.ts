/**
 * Public entry of Topiq's MQTT client side: the application's broker connection, its
 * message and subscription types, and the helpers its behaviour is built from.
 */
export { type BackoffPolicy, backoffDelay } from './backoff.js';
export { MqttConnection } from './connection.js';
export {
  type MessageConsumer,
  type MqttConnectionOptions,
  type ResolvedConnectionOptions,
  redactUrl,
  resolveConnectionOptions,
} from './connection_options.js';
export {
  type MqttMessage,
  type MqttMessageProperties,
  type PublishOptions,
  type QoS,
  toMqttMessage,
} from './mqtt_message.js';
export { type AckTicket, OrderedAckQueue } from './ordered_ack_queue.js';
export {
  type RefusedSubscription,
  type Subscription,
  SubscriptionRefusedError,
  describeSubackCode,
  normalizeSubscriptions,
} from './subscription.js';
