/**
 * What Redis did during a measurement, from `INFO cpu` and `INFO commandstats` read
 * before and after (never reset, so other clients' counters stay intact), and deletion of
 * the bench's own keys by pattern. Commands a Lua script runs are counted under their own
 * names too, so `commands` includes them; `scriptCalls` counts EVAL/EVALSHA alone.
 */
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';

export interface CommandStat {
  calls: number;
  usec: number;
}

export interface RedisSnapshot {
  /** Seconds of CPU the redis-server process has used (user + system). */
  cpuSeconds: number;
  commands: Map<string, CommandStat>;
}

/** Redis's work between two snapshots. */
export interface RedisUsage {
  cpuSeconds: number;
  /** EVAL / EVALSHA calls (one per script run). */
  scriptCalls: number;
  /** Microseconds Redis spent running scripts, inner commands included. */
  scriptUsec: number;
  /** Every command executed, those run inside scripts included (INFO excluded). */
  commands: number;
  /** Per command, sorted by time spent. */
  byCommand: Array<[name: string, stat: CommandStat]>;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  const text = (await redis.call('INFO', 'cpu', 'commandstats')) as string;
  let cpuSeconds = 0;
  const commands = new Map<string, CommandStat>();
  for (const line of text.split('\r\n')) {
    const cpu = /^used_cpu_(?:user|sys):([\d.]+)$/.exec(line);
    if (cpu) cpuSeconds += Number(cpu[1]);
    const command = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+),/.exec(line);
    if (command) commands.set(command[1]!, { calls: Number(command[2]), usec: Number(command[3]) });
  }
  return { cpuSeconds, commands };
}

export function usageBetween(before: RedisSnapshot, after: RedisSnapshot): RedisUsage {
  const byCommand: Array<[string, CommandStat]> = [];
  let scriptCalls = 0;
  let scriptUsec = 0;
  let commands = 0;
  for (const [name, stat] of after.commands) {
    if (name === 'info') continue;
    const earlier = before.commands.get(name) ?? { calls: 0, usec: 0 };
    const delta = { calls: stat.calls - earlier.calls, usec: stat.usec - earlier.usec };
    if (delta.calls <= 0) continue;
    byCommand.push([name, delta]);
    commands += delta.calls;
    if (SCRIPT_COMMANDS.has(name)) {
      scriptCalls += delta.calls;
      scriptUsec += delta.usec;
    }
  }
  byCommand.sort((a, b) => b[1].usec - a[1].usec);
  return { cpuSeconds: after.cpuSeconds - before.cpuSeconds, scriptCalls, scriptUsec, commands, byCommand };
}

export async function redisVersion(redis: Redis): Promise<string> {
  const text = (await redis.call('INFO', 'server')) as string;
  return /redis_version:([^\r\n]+)/.exec(text)?.[1] ?? 'unknown';
}

/** Deletes every key matching `pattern` (a Redis glob); resolves to how many. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    for (let start = 0; start < keys.length; start += 1000) {
      deleted += await redis.unlink(...keys.slice(start, start + 1000));
    }
  } while (cursor !== '0');
  return deleted;
}

/** Name the bench gives its own Redis connections, so others can be told apart. */
export const BENCH_CONNECTION_NAME = 'topiq-bench';

/**
 * Connections that are neither the bench's nor BullMQ's (which names its own `bull:...`):
 * another program using this Redis while we measure, which skews the numbers.
 */
export async function foreignClients(redis: Redis): Promise<string[]> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      const name = /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '';
      return !name.startsWith(BENCH_CONNECTION_NAME) && !name.startsWith('bull:');
    })
    .map((line) => /(?:^| )addr=(\S*)/.exec(line)?.[1] ?? line);
}

/** ioredis options for a bench connection to `url`, named {@link BENCH_CONNECTION_NAME}. */
export function benchConnection(url: string): { host: string; port: number; connectionName: string } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    connectionName: BENCH_CONNECTION_NAME,
  };
}

/**
 * CPU seconds the whole machine has been busy (all cores, every process), from
 * /proc/stat; `undefined` where that file does not exist (not Linux).
 */
export async function machineBusySeconds(): Promise<number | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
    // cpu  user nice system idle iowait irq softirq ...; in USER_HZ, 100 on Linux.
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) / 100;
  } catch {
    return undefined;
  }
}
