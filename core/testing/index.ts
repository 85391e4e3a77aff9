/**
 * Test support: `QueueFake` (Laravel's `Queue::fake()`) to record, assert and run
 * dispatched jobs, and `fakeMessage()` to feed routes without a broker.
 */
export { fakeMessage } from './message_factory.js';
export {
  type JobErrorMode,
  QueueFakeLimitError,
  type RunAllOptions,
  type RunOptions,
  type RunOutcome,
} from './fake_queue_runner.js';
export type { ProgressReport } from './run_one_job.js';
export { describeDispatched, QueueAssertionError } from './queue_assertion_error.js';
export { type DispatchPredicate, QueueFake, type QueueFakeOptions } from './queue_fake.js';
export { type DispatchedJob, RecordingQueueDriver } from './recording_queue_driver.js';
