/**
 * The queue's Lua scripts under `./scripts` (see {@link LuaScripts}: `--!include` lines inlined,
 * each registered once per connection). Every call goes through {@link runScript}.
 */
import type { Redis } from 'ioredis';
import { LuaScripts } from '../../../support/lua_scripts.js';

/** The scripts under `./scripts`. Their key counts are not listed: each call passes its keys. */
const SCRIPT_NAMES = [
  'push_jobs',
  'reserve_jobs',
  'extend_leases',
  'complete_jobs',
  'fail_job',
  'release_jobs',
  'retry_failed',
  'remove_jobs',
  'cancel_job',
  'release_held',
  'update_progress',
  'read_records',
  'live_workers',
  'remove_worker',
  'queue_stats',
] as const;

/** Name of a Lua script under `./scripts`. */
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const scripts = new LuaScripts<ScriptName>(new URL('./scripts/', import.meta.url), SCRIPT_NAMES);

/** The full text of every script, includes inlined (read from disk once per process). */
export function scriptSources(): Map<ScriptName, string> {
  return scripts.sources();
}

/** Registers every script on `redis` (once per connection object). */
export function registerScripts(redis: Redis): void {
  scripts.register(redis);
}

/** Runs script `name` with `keys` as its KEYS (their count goes first) and `args` as its ARGV. */
export function runScript<T = unknown>(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  return scripts.run<T>(redis, name, keys, args);
}
