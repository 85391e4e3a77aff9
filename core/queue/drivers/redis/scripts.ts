/**
 * Loads the Lua scripts under `./scripts`, inlines their `--!include` lines, and
 * registers each once per connection with ioredis `defineCommand` (EVALSHA with a
 * transparent fallback to EVAL). Every call goes through {@link runScript}.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * The scripts under `./scripts`. Their key counts are not listed: each call passes its keys
 * and the count is theirs (`runScript`), so a script's `KEYS` cannot drift from a table.
 */
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
  'queue_stats',
] as const;

/** Name of a Lua script under `./scripts`. */
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const directory = new URL('./scripts/', import.meta.url);
let sources: Map<ScriptName, string> | undefined;

function loadSource(name: string, seen: Set<string> = new Set()): string {
  const text = readFileSync(new URL(`${name}.lua`, directory), 'utf8');
  return text.replace(/^--!include (\w+)$/gm, (_line, include: string) => {
    if (seen.has(include)) return '';
    seen.add(include);
    return loadSource(`includes/${include}`, seen);
  });
}

/** The full text of every script, includes inlined (read from disk once per process). */
export function scriptSources(): Map<ScriptName, string> {
  if (!sources) {
    sources = new Map();
    for (const name of SCRIPT_NAMES) sources.set(name, loadSource(name));
  }
  return sources;
}

const registered = new WeakSet<Redis>();

/** Registers every script on `redis` (once per connection object). */
export function registerScripts(redis: Redis): void {
  if (registered.has(redis)) return;
  for (const [name, lua] of scriptSources()) {
    // no numberOfKeys: runScript passes it first, from the keys it is given
    redis.defineCommand(`topiq_${name}`, { lua });
  }
  registered.add(redis);
}

/** Runs script `name` with `keys` as its KEYS (their count goes first) and `args` as its ARGV. */
export function runScript<T = unknown>(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  registerScripts(redis);
  const command = (redis as unknown as Record<string, (...values: (string | number)[]) => Promise<T>>)[
    `topiq_${name}`
  ];
  return command!.call(redis, keys.length, ...keys, ...args);
}
