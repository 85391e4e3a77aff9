/**
 * `npx topiq queue:failed`: lists failed jobs, newest first, as a table for people or as
 * JSON (full records, with payload and stack) for scripts.
 */
import { type Command, Option } from 'commander';
import type { JobRecord } from '../../queue/driver.js';
import { FailedJobs } from '../../queue/failed_jobs.js';
import type { JsonValue } from '../../queue/json.js';
import { BaseCommand } from '../command.js';
import { isoTime } from './job_formatting.js';
import { plural, type TableColumn, truncate } from '../output.js';
import { MAX_LIST_LIMIT } from '../../queue/job_manager.js';
import { parseLimitUpTo, parseQueueName } from '../parsers.js';

/** The flags of `queue:failed`, as parsed. */
export interface QueueFailedFlags {
  queue?: string;
  limit: number;
  json?: boolean;
}

/** One failed job as `queue:failed --json` prints it. */
export interface FailedJobOutput {
  id: string;
  name: string;
  queue: string;
  payload: JsonValue;
  attempts: number;
  maxTries: number;
  error: { code: string | null; message: string; stack: string | null };
  /** ISO 8601, or null when the record has no finish time. */
  failedAt: string | null;
}

const COLUMNS: readonly TableColumn<JobRecord>[] = [
  { header: 'id', value: (record) => record.id },
  { header: 'job', value: (record) => record.name },
  { header: 'queue', value: (record) => record.queue },
  { header: 'attempts', value: (record) => record.attempts, alignRight: true },
  { header: 'failed_at', value: (record) => isoTime(record.finishedAt) },
  { header: 'error', value: (record) => truncate(errorSummary(record), 80) },
];

/** Lists failed jobs. */
export class QueueFailedCommand extends BaseCommand<QueueFailedFlags> {
  static override readonly commandName = 'queue:failed';
  static override readonly description = 'List failed jobs, newest first';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--queue <name>', 'only this queue (default: every queue)').argParser(parseQueueName),
      )
      .addOption(
        new Option('--limit <n>', `show at most this many (up to ${MAX_LIST_LIMIT})`)
          .argParser(parseLimitUpTo(MAX_LIST_LIMIT))
          .default(50),
      )
      .addOption(new Option('--json', 'print full records (payload, stack) as JSON'));
  }

  async run(): Promise<number> {
    const app = await this.appWithKnownQueue();
    const { limit, queue } = this.flags;
    // one more than shown: whether --limit cut the list off
    const found = await new FailedJobs(app.driver).list({ limit: limit + 1, ...(queue ? { queue } : {}) });
    const records = found.slice(0, limit);
    const more = found.length > limit;
    if (this.flags.json) {
      this.json(records.map(toOutput));
      // stdout stays the array alone
      if (more) {
        this.note(
          `queue:failed: ${plural(records.length, 'failed job')} printed; more failed (raise --limit, or pick one queue with --queue)`,
        );
      }
    } else if (records.length === 0) {
      this.line('No failed jobs.');
    } else {
      this.table(COLUMNS, records);
      const cut = more ? ', more not shown (raise --limit, or pick one queue with --queue)' : '';
      // an id may be in two queues: --queue picks one
      const retry = queue ? `npx topiq queue:retry <id> --queue=${queue}` : 'npx topiq queue:retry <id>';
      this.line(`${plural(records.length, 'failed job')} shown${cut}; retry one with \`${retry}\`.`);
    }
    return 0;
  }
}

/** The JSON form of a failed record. */
export function toOutput(record: JobRecord): FailedJobOutput {
  return {
    id: record.id,
    name: record.name,
    queue: record.queue,
    payload: record.payload,
    attempts: record.attempts,
    maxTries: record.maxTries,
    error: {
      code: record.error?.code ?? null,
      message: record.error?.message ?? '',
      stack: record.error?.stack ?? null,
    },
    failedAt: isoTime(record.finishedAt),
  };
}

function errorSummary(record: JobRecord): string {
  if (!record.error) return '';
  return record.error.code ? `${record.error.code}: ${record.error.message}` : record.error.message;
}
