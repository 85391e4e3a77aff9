/**
 * The settings of a reliability worker process and their environment encoding, shared
 * by the parent (which spawns it) and `worker_process.ts` (which reads them). Plain
 * variables, so the script can also be run by hand:
 *   TOPIQ_TEST_PREFIX=p TOPIQ_TEST_QUEUE=q node --import tsx tests/support/worker_process.ts
 */

export interface WorkerProcessSettings {
  redisUrl: string;
  /** Redis key prefix of the driver and the journal. */
  prefix: string;
  queue: string;
  concurrency: number;
  leaseMs: number;
  shutdownGraceMs: number;
  stopWhenEmpty: boolean;
  /** Longest idle block, in seconds. */
  sleepSeconds: number;
  /** Completed records the driver keeps. */
  completedCount: number;
  /** `CLIENT SETNAME` of every connection the process opens, so a test can find and kill them. */
  connectionName: string;
  /** pino level of the worker's log (written to stderr). */
  logLevel: string;
  /** The process exits on its own after this long, in case its parent never kills it. */
  maxLifetimeMs: number;
  /** Ms between worker heartbeats. */
  heartbeatMs: number;
  /** The worker's fixed `prefetch`; left out, the worker decides. */
  prefetch?: number;
}

const NAMES = {
  redisUrl: 'TOPIQ_TEST_REDIS_URL',
  prefix: 'TOPIQ_TEST_PREFIX',
  queue: 'TOPIQ_TEST_QUEUE',
  concurrency: 'TOPIQ_TEST_CONCURRENCY',
  leaseMs: 'TOPIQ_TEST_LEASE_MS',
  shutdownGraceMs: 'TOPIQ_TEST_GRACE_MS',
  stopWhenEmpty: 'TOPIQ_TEST_STOP_WHEN_EMPTY',
  sleepSeconds: 'TOPIQ_TEST_SLEEP',
  completedCount: 'TOPIQ_TEST_COMPLETED_COUNT',
  connectionName: 'TOPIQ_TEST_CONNECTION_NAME',
  logLevel: 'TOPIQ_TEST_LOG_LEVEL',
  maxLifetimeMs: 'TOPIQ_TEST_MAX_LIFETIME_MS',
  heartbeatMs: 'TOPIQ_TEST_HEARTBEAT_MS',
  prefetch: 'TOPIQ_TEST_PREFETCH',
} as const satisfies Record<keyof WorkerProcessSettings, string>;

/** Everything but prefix and queue has a default. */
export type WorkerProcessInput = Pick<WorkerProcessSettings, 'prefix' | 'queue'> &
  Partial<WorkerProcessSettings>;

export function withDefaults(input: WorkerProcessInput): WorkerProcessSettings {
  return {
    redisUrl: 'redis://127.0.0.1:6379',
    concurrency: 1,
    leaseMs: 30_000,
    shutdownGraceMs: 10_000,
    stopWhenEmpty: false,
    sleepSeconds: 3,
    completedCount: 1000,
    connectionName: `${input.prefix}-worker`,
    logLevel: 'warn',
    maxLifetimeMs: 120_000,
    heartbeatMs: 5000,
    ...input,
  };
}

export function settingsToEnv(settings: WorkerProcessSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(NAMES) as (keyof WorkerProcessSettings)[]) {
    const value = settings[key];
    if (value === undefined) continue;
    env[NAMES[key]] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  }
  return env;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): WorkerProcessSettings {
  const text = (key: keyof WorkerProcessSettings): string | undefined => env[NAMES[key]] || undefined;
  const number = (key: keyof WorkerProcessSettings): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new Error(`${NAMES[key]} must be a number; got ${value}`);
    return parsed;
  };
  const prefix = text('prefix');
  const queue = text('queue');
  if (!prefix || !queue) throw new Error(`${NAMES.prefix} and ${NAMES.queue} are required`);
  const input: WorkerProcessInput = { prefix, queue };
  const strings = ['redisUrl', 'connectionName', 'logLevel'] as const;
  const numbers = [
    'concurrency',
    'leaseMs',
    'shutdownGraceMs',
    'sleepSeconds',
    'completedCount',
    'maxLifetimeMs',
    'heartbeatMs',
    'prefetch',
  ] as const;
  for (const key of strings) {
    const value = text(key);
    if (value !== undefined) input[key] = value;
  }
  for (const key of numbers) {
    const value = number(key);
    if (value !== undefined) input[key] = value;
  }
  if (text('stopWhenEmpty') !== undefined) input.stopWhenEmpty = text('stopWhenEmpty') === '1';
  return withDefaults(input);
}
