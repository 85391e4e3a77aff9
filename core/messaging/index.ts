/** Public API of the messaging layer: contexts, pipeline, dead letters, state. */
export type {
  DeadLetter,
  DeadLetterPage,
  DeadLetterStore,
  UnreadableDeadLetter,
} from './dead_letters.js';
export { MemoryDeadLetterStore, RedisDeadLetterStore } from './dead_letters.js';
export type { InboundMessage, Publisher } from './inbound_message.js';
export { MessageContext, storeWait } from './message_context.js';
export { DEFAULT_HANDLER_TIMEOUT_MS } from './handler_deadline.js';
export {
  type AppRouteTable,
  type ControllerReference,
  type MessageHandler,
  MessagePipeline,
  type PipelineOptions,
  type PipelineStats,
} from './message_pipeline.js';
export { createRouteTable, defineRoutes, type RouteDefinitions } from './define_routes.js';
export { MqttGateway } from './mqtt_gateway.js';
export { MemoryStateStore, RedisStateStore, STATE_ENTRY_LIMITS, type StateStore } from './state_store.js';
