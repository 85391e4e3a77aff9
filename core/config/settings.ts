/** The typed settings the framework reads; `config/*.ts` produce them from the environment. */
import type { RetentionSettings } from '../queue/driver.js';

export interface AppSettings {
  name: string;
  logLevel: string;
}

export interface QueueSettings {
  driver: 'redis' | 'memory';
  redisUrl: string;
  prefix: string;
  leaseMs: number;
  retention: RetentionSettings;
  failedCount: number;
  progressIntervalMs: number;
  shutdownGraceMs: number;
  /** Queues and concurrency of the workers `serve --workers` runs in-process. */
  worker: { queues: string; concurrency: number };
}
