/**
 * `npx topiq job:show <id>`: one job's record (status, attempts, owner and description when
 * set, progress, result, error and stack, timestamps, worker, payload) as aligned `key: value` lines or as JSON.
 */
import { type Command, Option } from 'commander';
import { FINISHED_STATUSES, type JobRecord } from '../../queue/driver.js';
import { BaseCommand } from '../command.js';
import { plainText } from '../output.js';
import { addJobIdArguments } from './job_arguments.js';
import { attemptsText, isoTime, toJobOutput } from './job_formatting.js';

/** Prints one job's record. */
export class JobShowCommand extends BaseCommand<{ queue?: string; json?: boolean }, [string]> {
  static override readonly commandName = 'job:show';
  static override readonly description = "Show a job's status, progress, result, error and payload";

  static override configure(command: Command): void {
    addJobIdArguments(command).addOption(new Option('--json', 'print the record as JSON'));
  }

  async run(): Promise<number> {
    const app = await this.appWithKnownQueue();
    const record = await app.jobs.find(this.args[0], this.flags.queue);
    if (this.flags.json) this.json(toJobOutput(record));
    else this.context.io.stdout.write(formatRecord(record));
    return 0;
  }
}

/**
 * A record as aligned `key: value` lines; absent values print as `-`, and a stack's
 * lines are indented under the value column. Control characters in values (an error
 * message or progress message echoing device data) become spaces, as in tables; only the
 * stack keeps its line breaks.
 */
export function formatRecord(record: JobRecord): string {
  const time = (epochMs: number | null) => isoTime(epochMs) ?? '-';
  const progress = `${record.progress}%${record.progressMessage ? ` (${record.progressMessage})` : ''}`;
  const entries: [string, string][] = [
    ['id', record.id],
    ['name', record.name],
    ['queue', record.queue],
    ['status', record.status],
    [
      'attempts',
      attemptsText(record) + (record.maxTries > 0 ? '' : " (the worker's --tries decides the maximum)"),
    ],
    ['priority', String(record.priority)],
    // only when dispatched with them, so most records print as they always did
    ...optionalRow('owner', record.owner),
    ...optionalRow('description', record.description),
    ['progress', progress],
    ...optionalRow(
      'progress data',
      record.progressData === null ? null : JSON.stringify(record.progressData),
    ),
    ['worker', record.worker ?? '-'],
    ['created', time(record.createdAt)],
    ['queued', time(record.queuedAt)],
    ['started', time(record.startedAt)],
    ['finished', time(record.finishedAt)],
    ['run at', time(record.runAt)],
    ['expires at', time(record.expiresAt)],
    ['payload', JSON.stringify(record.payload)],
    ['result', record.result === null ? '-' : JSON.stringify(record.result)],
  ];
  if (record.error) {
    const { code, message, stack } = record.error;
    // the error a job ended with; any other status keeps that of its last failed attempt (a job
    // that completed on its second try, a retry waiting or running), which is not its state
    const ended = FINISHED_STATUSES.has(record.status) && record.status !== 'completed';
    entries.push([ended ? 'error' : 'last failed attempt', code ? `${code}: ${message}` : message]);
    if (stack) entries.push(['stack', stack]);
  }
  const width = Math.max(...entries.map(([key]) => key.length)) + 1;
  const indent = ' '.repeat(width + 1);
  return entries
    .map(([key, value]) => {
      const text = plainText(value, { keepNewlines: key === 'stack' });
      return `${`${key}:`.padEnd(width)} ${text.split('\n').join(`\n${indent}`)}\n`;
    })
    .join('');
}

/** A row of `job:show`, or none when there is no value. */
function optionalRow(key: string, value: string | null): [string, string][] {
  return value === null ? [] : [[key, value]];
}
