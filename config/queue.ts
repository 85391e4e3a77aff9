/**
 * Queue settings. With no `REDIS_URL` the in-memory driver is used (zero setup, not
 * durable); set `REDIS_URL` (or `QUEUE_DRIVER=redis`) for production.
 */
import { z } from 'zod';
import { defineConfig, MAX_LEASE_MS, MIN_LEASE_MS } from '../core/index.js';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

export default defineConfig(
  'queue',
  z.object({
    QUEUE_DRIVER: z.enum(['redis', 'memory']).optional(),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,32}$/, 'use 1-32 of A-Z a-z 0-9 _ . : -')
      .default('topiq'),
    QUEUE_LEASE_MS: z.coerce.number().int().min(MIN_LEASE_MS).max(MAX_LEASE_MS).default(30_000),
    QUEUE_KEEP_COMPLETED: int(1000),
    QUEUE_KEEP_COMPLETED_HOURS: z.coerce.number().min(0).default(24),
    QUEUE_KEEP_FAILED: int(100_000, 1),
    QUEUE_PROGRESS_INTERVAL_MS: int(1000),
    QUEUE_SHUTDOWN_GRACE_MS: int(10_000),
    QUEUE_HEARTBEAT_MS: int(5000, 100),
    QUEUE_EVENTS: z.enum(['on', 'off', 'true', 'false', '1', '0']).default('on'),
    WORKER_QUEUES: z.string().optional(),
    WORKER_CONCURRENCY: int(10, 1),
  }),
  (env) => ({
    driver: env.QUEUE_DRIVER ?? (env.REDIS_URL ? 'redis' : 'memory'),
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
    events: ['on', 'true', '1'].includes(env.QUEUE_EVENTS),
    worker: { queues: env.WORKER_QUEUES, concurrency: env.WORKER_CONCURRENCY },
  }),
);
