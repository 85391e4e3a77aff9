/**
 * A message pipeline on in-memory stores, for unit tests of routes and middleware: what a test
 * does not pass gets a fresh memory driver, dead-letter store and state store, a publisher
 * that drops everything and a silent logger.
 */
import {
  type AppRouteTable,
  type DeadLetterStore,
  Dispatcher,
  JobRegistry,
  MemoryDeadLetterStore,
  MemoryQueueDriver,
  MemoryStateStore,
  MessagePipeline,
  type PipelineOptions,
  silentLogger,
} from '../../core/index.js';

export function memoryPipeline(
  routes: AppRouteTable,
  overrides: Partial<Omit<PipelineOptions, 'routes'>> = {},
): { pipeline: MessagePipeline; deadLetters: DeadLetterStore } {
  const options: PipelineOptions = {
    routes,
    dispatcher: new Dispatcher(new MemoryQueueDriver(), new JobRegistry()),
    deadLetters: new MemoryDeadLetterStore(),
    state: new MemoryStateStore(),
    publish: async () => {},
    log: silentLogger(),
    ...overrides,
  };
  return { pipeline: new MessagePipeline(options), deadLetters: options.deadLetters };
}
