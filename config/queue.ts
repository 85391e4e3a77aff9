/**
 * Queue settings. With no `REDIS_URL` the in-memory driver is used (zero setup, not
 * durable); set `REDIS_URL` (or `QUEUE_DRIVER=redis`) for production. With
 * `NODE_ENV=production` the in-memory driver must be asked for (`QUEUE_DRIVER=memory`) by the
 * commands that take or run jobs (`memoryInProduction`, see `assertDurableDriver`): a production
 * app that merely lost its `REDIS_URL` would otherwise acknowledge messages and lose their jobs
 * at its next restart.
 */
import { z } from 'zod';
import {
  envDecimal,
  envInteger,
  envMs,
  envParsed,
  envServerUrl,
  envSwitch,
} from '../core/config/env_schemas.js';
import { CHANNEL_DATABASE } from '../core/queue/drivers/redis/keys.js';
import {
  defineConfig,
  MAX_CONCURRENCY,
  MAX_LEASE_MS,
  MIN_LEASE_MS,
  parsePrefetchSetting,
  parseQueueList,
} from '../core/index.js';

export default defineConfig(
  'queue',
  z.object({
    NODE_ENV: z.string().optional(),
    QUEUE_DRIVER: z.enum(['redis', 'memory']).optional(),
    REDIS_URL: envServerUrl(['redis', 'rediss'], 'redis://127.0.0.1:6379/0', true).optional(),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,32}$/, 'use 1-32 of A-Z a-z 0-9 _ . : -')
      .refine((prefix) => !CHANNEL_DATABASE.test(prefix), {
        message:
          'may not hold a ":db<N>" level, which names the Pub/Sub channels of database N: an app there with the prefix before it would hear its job events and cancels (use another name, e.g. topiq-db2)',
      })
      .default('topiq'),
    QUEUE_LEASE_MS: envInteger(30_000, { min: MIN_LEASE_MS, max: MAX_LEASE_MS }),
    QUEUE_KEEP_COMPLETED: envInteger(1000),
    QUEUE_KEEP_COMPLETED_HOURS: envDecimal(24),
    QUEUE_KEEP_FAILED: envInteger(100_000, { min: 1 }),
    QUEUE_PROGRESS_INTERVAL_MS: envMs(1000),
    QUEUE_SHUTDOWN_GRACE_MS: envMs(10_000),
    QUEUE_HEARTBEAT_MS: envMs(5000, 100),
    QUEUE_EVENTS: envSwitch(true),
    WORKER_QUEUES: envParsed(parseQueueList).optional(),
    WORKER_CONCURRENCY: envInteger(10, { min: 1, max: MAX_CONCURRENCY }),
    WORKER_PREFETCH: envParsed(parsePrefetchSetting).optional(),
  }),
  (env) => ({
    driver: env.QUEUE_DRIVER ?? (env.REDIS_URL ? 'redis' : 'memory'),
    memoryInProduction: env.NODE_ENV === 'production' && env.QUEUE_DRIVER === undefined && !env.REDIS_URL,
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: env.QUEUE_PREFIX,
    leaseMs: env.QUEUE_LEASE_MS,
    retention: {
      completedCount: env.QUEUE_KEEP_COMPLETED,
      completedAgeMs: env.QUEUE_KEEP_COMPLETED_HOURS * 3600_000,
    },
    failedCount: env.QUEUE_KEEP_FAILED,
    progressIntervalMs: env.QUEUE_PROGRESS_INTERVAL_MS,
    shutdownGraceMs: env.QUEUE_SHUTDOWN_GRACE_MS,
    heartbeatMs: env.QUEUE_HEARTBEAT_MS,
    events: env.QUEUE_EVENTS,
    worker: { queues: env.WORKER_QUEUES, concurrency: env.WORKER_CONCURRENCY, prefetch: env.WORKER_PREFETCH },
  }),
);
