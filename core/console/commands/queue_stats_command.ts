/**
 * `npx topiq queue:stats`: how each queue is doing now: jobs per state, jobs completed in
 * the last 60-70 s (10-second buckets), and how long the longest-waiting job has waited. Without `--queue` it
 * reports every queue that ever had a job pushed; a queue named that none was ever pushed to
 * fails with `E_QUEUE_NOT_FOUND`.
 */
import { type Command, Option } from 'commander';
import type { QueueStats } from '../../queue/driver.js';
import { BaseCommand } from '../command.js';
import type { TableColumn } from '../output.js';
import { parseQueueNames } from '../parsers.js';
import { formatDuration } from './job_formatting.js';

const COLUMNS: readonly TableColumn<QueueStats>[] = [
  { header: 'queue', value: (row) => row.queue },
  { header: 'waiting', value: (row) => row.waiting, alignRight: true },
  { header: 'delayed', value: (row) => row.delayed, alignRight: true },
  { header: 'running', value: (row) => row.running, alignRight: true },
  { header: 'pending', value: (row) => row.pending, alignRight: true },
  { header: 'failed', value: (row) => row.failed, alignRight: true },
  { header: 'completed/min', value: (row) => row.completedLastMinute, alignRight: true },
  {
    header: 'oldest_waiting',
    // a delayed job come due but not yet moved waits too, counted in oldestWaitingMs alone
    value: (row) => (row.waiting > 0 || row.oldestWaitingMs > 0 ? formatDuration(row.oldestWaitingMs) : '-'),
    alignRight: true,
  },
];

/** Prints queue statistics. */
export class QueueStatsCommand extends BaseCommand<{ queue?: string[]; json?: boolean }> {
  static override readonly commandName = 'queue:stats';
  static override readonly description =
    'Show per-queue counts, completions in the last 60-70 s, the oldest waiting job';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--queue <names>', 'these queues, comma-separated (default: every queue)').argParser(
          parseQueueNames,
        ),
      )
      .addOption(new Option('--json', 'print JSON (oldestWaitingMs in milliseconds)'));
  }

  async run(): Promise<number> {
    const { driver } = await this.appWithKnownQueue();
    const queues = this.flags.queue ?? (await driver.queues()).sort();
    const stats = await Promise.all(queues.map((queue) => driver.stats(queue)));
    if (this.flags.json) this.json(stats);
    else if (stats.length === 0) this.line('No queues yet: none has had a job pushed.');
    else this.table(COLUMNS, stats);
    return 0;
  }
}
