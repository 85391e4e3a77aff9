/**
 * Lua scripts kept one to a file under a directory, each registered once per connection with
 * ioredis `defineCommand` (EVALSHA, with a transparent fallback to EVAL) as `topiq_<name>` and
 * run by name. A script's key count is not listed anywhere: each call passes its keys, and their
 * count goes first, so a script's `KEYS` cannot drift from a table. A line `--!include name`
 * inlines `includes/<name>.lua` (once per script, however often it is named).
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** What a script is called with after its keys. */
export type ScriptArg = string | number | Buffer;

type Command = (...values: ScriptArg[]) => Promise<unknown>;

/**
 * The scripts `names` under `directory`.
 *
 * @example
 * const scripts = new LuaScripts(new URL('./scripts/', import.meta.url), ['merge_state']);
 * scripts.register(redis); // in a constructor: see register()
 * const merged = await scripts.run<string>(redis, 'merge_state', [key], [id, ...pairs]);
 */
export class LuaScripts<Name extends string> {
  readonly #directory: URL;
  readonly #names: readonly Name[];
  #sources: Map<Name, string> | undefined;
  readonly #registered = new WeakSet<Redis>();

  constructor(directory: URL, names: readonly Name[]) {
    this.#directory = directory;
    this.#names = names;
  }

  /** The full text of every script, includes inlined (read from disk once per process). */
  sources(): Map<Name, string> {
    if (!this.#sources) {
      const sources = new Map<Name, string>();
      for (const name of this.#names) sources.set(name, this.#load(name, new Set()));
      this.#sources = sources;
    }
    return this.#sources;
  }

  /**
   * Registers every script on `redis`, once per connection object. Call it when the connection is
   * handed over (a constructor), not at the first call: with auto-pipelining, a command defined
   * while a pipeline is pending is missing from it and the pipeline throws uncaught (ioredis#1931).
   */
  register(redis: Redis): void {
    if (this.#registered.has(redis)) return;
    for (const [name, lua] of this.sources()) redis.defineCommand(`topiq_${name}`, { lua });
    this.#registered.add(redis);
  }

  /** Runs script `name` with `keys` as its KEYS and `args` as its ARGV; bulk replies as strings. */
  run<T = unknown>(
    redis: Redis,
    name: Name,
    keys: readonly string[],
    args: readonly ScriptArg[],
  ): Promise<T> {
    return this.#call(redis, `topiq_${name}`, keys, args) as Promise<T>;
  }

  /** As {@link run}, with bulk replies as Buffers (bytes that need not be UTF-8 come back whole). */
  runBuffer<T = unknown>(
    redis: Redis,
    name: Name,
    keys: readonly string[],
    args: readonly ScriptArg[],
  ): Promise<T> {
    return this.#call(redis, `topiq_${name}Buffer`, keys, args) as Promise<T>;
  }

  #call(
    redis: Redis,
    command: string,
    keys: readonly string[],
    args: readonly ScriptArg[],
  ): Promise<unknown> {
    this.register(redis);
    const call = (redis as unknown as Record<string, Command>)[command]!;
    return call.call(redis, keys.length, ...keys, ...args);
  }

  #load(name: string, seen: Set<string>): string {
    const text = readFileSync(new URL(`${name}.lua`, this.#directory), 'utf8');
    return text.replace(/^--!include (\w+)$/gm, (_line, include: string) => {
      if (seen.has(include)) return '';
      seen.add(include);
      return this.#load(`includes/${include}`, seen);
    });
  }
}
