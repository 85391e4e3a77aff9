/**
 * `npx topiq queue:workers`: the live workers, from their heartbeats. A worker is listed
 * until three heartbeats are missed, so one that crashed disappears within
 * 3 × `QUEUE_HEARTBEAT_MS`; one that stops cleanly disappears at once.
 */
import { type Command, Option } from 'commander';
import type { WorkerInfo } from '../../queue/driver.js';
import { BaseCommand } from '../command.js';
import { type TableColumn, truncate } from '../output.js';
import { parseQueueName } from '../parsers.js';
import { formatDuration } from './job_formatting.js';

/** One worker as `queue:workers --json` prints it: its heartbeat with ISO 8601 times, plus ages. */
export interface WorkerOutput extends Omit<WorkerInfo, 'startedAt' | 'heartbeatAt'> {
  /** ISO 8601. */
  startedAt: string;
  heartbeatAt: string;
  uptimeMs: number;
  /** How long ago the last heartbeat was recorded. */
  heartbeatAgeMs: number;
}

const COLUMNS: readonly TableColumn<WorkerOutput>[] = [
  { header: 'id', value: (row) => row.id },
  { header: 'host', value: (row) => row.host },
  { header: 'pid', value: (row) => row.pid, alignRight: true },
  { header: 'queues', value: (row) => row.queues.join(',') },
  { header: 'concurrency', value: (row) => row.concurrency, alignRight: true },
  { header: 'running', value: runningText },
  { header: 'started', value: (row) => `${row.startedAt} (up ${formatDuration(row.uptimeMs)})` },
  { header: 'heartbeat', value: (row) => `${formatDuration(row.heartbeatAgeMs)} ago` },
];

/** Lists live workers, all of them or those serving one queue. */
export class QueueWorkersCommand extends BaseCommand<{ json?: boolean; queue?: string }> {
  static override readonly commandName = 'queue:workers';
  static override readonly description = 'List live workers: queues, running jobs, uptime, last heartbeat';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--queue <name>', 'only the workers serving this queue').argParser(parseQueueName),
      )
      .addOption(new Option('--json', 'print JSON'));
  }

  async run(): Promise<number> {
    const { driver } = await this.app();
    const now = Date.now();
    const { queue, json } = this.flags;
    const workers = (await driver.workers())
      .filter((info) => queue === undefined || info.queues.includes(queue))
      .map((info) => toWorkerOutput(info, now));
    if (json) this.json(workers);
    else if (workers.length > 0) this.table(COLUMNS, workers);
    else if (queue === undefined) this.line('No live workers: start one with `npx topiq queue:work`.');
    else
      this.line(
        `No live worker serves queue "${queue}": start one with \`npx topiq queue:work --queue=${queue}\`.`,
      );
    return 0;
  }
}

/** The JSON form of a heartbeat, with ages measured at `now`. */
export function toWorkerOutput(info: WorkerInfo, now: number): WorkerOutput {
  return {
    id: info.id,
    host: info.host,
    pid: info.pid,
    queues: info.queues,
    concurrency: info.concurrency,
    runningJobIds: info.runningJobIds,
    startedAt: new Date(info.startedAt).toISOString(),
    heartbeatAt: new Date(info.heartbeatAt).toISOString(),
    uptimeMs: Math.max(0, now - info.startedAt),
    heartbeatAgeMs: Math.max(0, now - info.heartbeatAt),
  };
}

/** `0`, or `2: id-1,id-2` with the ids cut to fit a column. */
function runningText(row: WorkerOutput): string {
  const count = row.runningJobIds.length;
  return count === 0 ? '0' : `${count}: ${truncate(row.runningJobIds.join(','), 40)}`;
}
