/**
 * Loads the Lua scripts under `./scripts`, inlines their `--!include` lines, and
 * registers each once per connection with ioredis `defineCommand` (EVALSHA with a
 * transparent fallback to EVAL). Every call goes through {@link runScript}.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** Each script and how many of its arguments are keys. */
export const scriptKeyCounts = {
  push_jobs: 5,
  reserve_jobs: 9,
  extend_leases: 2,
  complete_jobs: 4,
  fail_job: 8,
  release_jobs: 5,
  retry_failed: 4,
  remove_jobs: 1,
  cancel_job: 5,
  release_held: 6,
  update_progress: 2,
} as const;

/** Name of a Lua script under `./scripts`. */
export type ScriptName = keyof typeof scriptKeyCounts;

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
    for (const name of Object.keys(scriptKeyCounts) as ScriptName[]) sources.set(name, loadSource(name));
  }
  return sources;
}

const registered = new WeakSet<Redis>();

/** Registers every script on `redis` (once per connection object). */
export function registerScripts(redis: Redis): void {
  if (registered.has(redis)) return;
  for (const [name, lua] of scriptSources()) {
    redis.defineCommand(`topiq_${name}`, { numberOfKeys: scriptKeyCounts[name], lua });
  }
  registered.add(redis);
}

/** Runs script `name` with its keys then its arguments. */
export function runScript<T = unknown>(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  if (keys.length !== scriptKeyCounts[name]) {
    // a wrong count would shift keys into ARGV and the script would run on wrong data
    throw new TypeError(`script ${name} takes ${scriptKeyCounts[name]} keys; got ${keys.length}`);
  }
  registerScripts(redis);
  const command = (redis as unknown as Record<string, (...values: (string | number)[]) => Promise<T>>)[
    `topiq_${name}`
  ];
  return command!.call(redis, ...keys, ...args);
}
