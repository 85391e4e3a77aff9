/**
 * Where the CPU went during an end-to-end run: each process of the layout (publishers,
 * app, worker, Redis, Mosquitto) from /proc/<pid>/stat, the whole machine from
 * /proc/stat, and "other" as the difference. Linux only; elsewhere every figure is
 * undefined and the report says so.
 */
import { readdir, readFile } from 'node:fs/promises';
import { machineBusySeconds } from './redis_stats.js';

/** CPU seconds (user + system) a process has used, or undefined when it cannot be read. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The pid of the first process whose command name is `name`, from /proc. */
export async function findProcess(name: string): Promise<number | undefined> {
  try {
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === name) return Number(entry);
    }
  } catch {
    // not Linux
  }
  return undefined;
}

/** CPU of each named process and of the machine, read at two moments. */
export type CpuReading = { machine: number | undefined; processes: Map<string, number | undefined> };

/** Per process, percent of one core over the span (100 = one core busy); plus `other`. */
export type CpuUsage = Record<string, number | undefined>;

export async function readCpu(pids: ReadonlyMap<string, number | undefined>): Promise<CpuReading> {
  const processes = new Map<string, number | undefined>();
  for (const [name, pid] of pids) {
    processes.set(name, pid === undefined ? undefined : await processCpuSeconds(pid));
  }
  return { machine: await machineBusySeconds(), processes };
}

export function cpuBetween(before: CpuReading, after: CpuReading, seconds: number): CpuUsage {
  const usage: CpuUsage = {};
  let ours = 0;
  let known = true;
  for (const [name, end] of after.processes) {
    const start = before.processes.get(name);
    if (start === undefined || end === undefined) {
      usage[name] = undefined;
      known = false;
      continue;
    }
    const percent = ((end - start) / seconds) * 100;
    usage[name] = percent;
    ours += end - start;
  }
  usage.other =
    known && before.machine !== undefined && after.machine !== undefined
      ? Math.max(0, ((after.machine - before.machine - ours) / seconds) * 100)
      : undefined;
  usage.machine =
    before.machine !== undefined && after.machine !== undefined
      ? ((after.machine - before.machine) / seconds) * 100
      : undefined;
  return usage;
}
