/** Public API of the job engine. */
export type { DispatchOptions } from './dispatch_options.js';
export { FailedJobs } from './failed_jobs.js';
export { type CompletedEntry, EventBatch, type EventGroup, type EventJob } from './event_batch.js';
export { JobEventPublisher, MAX_EVENT_RESULT_BYTES } from './job_events.js';
export { type JobListOptions, JobManager, MAX_FILTER_SCAN, MAX_LIST_LIMIT } from './job_manager.js';
export { type DispatchEntry, Dispatcher, type DispatcherOptions } from './dispatcher.js';
export { isProgressEvent, MAX_STALLS } from './driver.js';
export type {
  ExtendOptions,
  ReleaseOptions,
  FailedSelection,
  JobEvent,
  JobEventListener,
  JobEventListenerError,
  JobEventListeners,
  JobProgressEvent,
  JobProgressListener,
  JobStreamEvent,
  JobRecord,
  JobStatus,
  QueueCounts,
  QueueDriver,
  QueueStats,
  WorkerIdentity,
  WorkerInfo,
  RetentionSettings,
  RetriedJob,
  RetryFailedOutcome,
} from './driver.js';
export { MemoryQueueDriver } from './drivers/memory/index.js';
export { type RedisDriverOptions, RedisQueueDriver } from './drivers/redis/redis_driver.js';
export {
  type FailedJobContext,
  Job,
  type JobClass,
  type JobContext,
  type JobSettings,
  jobNameOf,
  type DispatchPayload,
  type Jsonable,
  type PayloadOf,
  type PayloadSchema,
  type ResultOf,
} from './job.js';
export { assertJsonSafe, type JsonObject, type JsonValue } from './json.js';
export { assertJobId, assertQueueName, assertWorkerName, isSafeId, parseQueueList } from './names.js';
export { MAX_STEPS, type ProgressReporter, ProgressSteps } from './progress_steps.js';
export { MAX_PROGRESS_DATA_BYTES } from './progress_writer.js';
export { Queue } from './queue_facade.js';
export { JobRegistry } from './registry.js';
export { type ExponentialRetry, parseRetryPolicy, type RetryPolicy, retryDelayMs } from './retry_policy.js';
export { MAX_LEASE_MS, MIN_LEASE_MS } from './lease_bounds.js';
export { MAX_CONCURRENCY } from './worker_options.js';
export { isPrefetch, MAX_PREFETCH, parsePrefetchSetting } from './reserve_ahead.js';
export { Worker, type WorkerOptions, type WorkerStopReason } from './worker.js';
