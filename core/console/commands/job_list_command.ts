/**
 * `npx topiq job:list`: jobs across queues (running first, then queued, delayed and pending
 * ones, then the finished ones of every finished status merged newest first) as a table for
 * people or JSON for scripts. A `--queue` no job was ever pushed to fails with `E_QUEUE_NOT_FOUND`.
 */
import { type Command, Option } from 'commander';
import { CliUsageError } from '../../errors.js';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../../queue/driver.js';
import { MAX_LIST_LIMIT, MAX_FILTER_SCAN } from '../../queue/job_manager.js';
import { BaseCommand } from '../command.js';
import { plural, type TableColumn } from '../output.js';
import { parseListedJobName, parseOwner, parsePositiveInteger, parseQueueName } from '../parsers.js';
import { attemptsText, isoTime, toJobOutput } from './job_formatting.js';

/** The flags of `job:list`, as parsed. */
export interface JobListFlags {
  queue?: string;
  status?: JobStatus;
  name?: string;
  owner?: string;
  limit: number;
  json?: boolean;
}

const COLUMNS: readonly TableColumn<JobRecord>[] = [
  { header: 'id', value: (record) => record.id },
  { header: 'name', value: (record) => record.name },
  { header: 'queue', value: (record) => record.queue },
  { header: 'status', value: (record) => record.status },
  { header: 'attempts', value: attemptsText, alignRight: true },
  { header: 'progress', value: (record) => `${record.progress}%`, alignRight: true },
  { header: 'created', value: (record) => isoTime(record.createdAt) },
  { header: 'worker', value: (record) => record.worker },
];
/** Shown when a listed job has an owner. */
const OWNER_COLUMN: TableColumn<JobRecord> = { header: 'owner', value: (record) => record.owner };

/** Lists jobs. */
export class JobListCommand extends BaseCommand<JobListFlags> {
  static override readonly commandName = 'job:list';
  static override readonly description = 'List jobs by status across queues, running first';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--queue <name>', 'only this queue (default: every queue)').argParser(parseQueueName),
      )
      .addOption(
        new Option('--status <status>', 'only jobs in this status (default: every status)').choices(
          JOB_STATUSES,
        ),
      )
      .addOption(
        new Option(
          '--name <job>',
          `only jobs of this name, as job:types lists them (reads up to ${MAX_FILTER_SCAN} records in all)`,
        ).argParser(parseListedJobName),
      )
      .addOption(
        new Option(
          '--owner <owner>',
          `only jobs dispatched for this owner (reads up to ${MAX_FILTER_SCAN} records in all)`,
        ).argParser(parseOwner),
      )
      .addOption(
        new Option('--limit <n>', `show at most this many (up to ${MAX_LIST_LIMIT})`)
          .argParser(parsePositiveInteger)
          .default(50),
      )
      .addOption(new Option('--json', 'print full records (payload, result, error) as JSON'));
  }

  async run(): Promise<number> {
    const { queue, status, name, owner, limit, json } = this.flags;
    if (limit > MAX_LIST_LIMIT) {
      throw new CliUsageError(
        `--limit ${limit} is more than ${MAX_LIST_LIMIT}; narrow the list with --queue or --status`,
      );
    }
    const app = await this.appWithKnownQueue();
    const { records: shown, more } = await app.jobs.listPage({
      limit,
      ...(queue !== undefined ? { queue } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(owner !== undefined ? { owner } : {}),
    });
    const filtered = name !== undefined || owner !== undefined;
    const which = `${name === undefined ? '' : ` named ${name}`}${owner === undefined ? '' : ` for owner ${owner}`}`;
    if (json) {
      this.json(shown.map(toJobOutput));
      // stdout stays the array scripts parse; a person or a log still learns that it was cut
      if (more) {
        this.note(
          `job:list: ${plural(shown.length, 'job')} printed; more ${filtered ? 'may match' : 'match'} (raise --limit, or filter by --queue or --status)`,
        );
      }
    } else if (shown.length === 0 && more) {
      // only a filter that stopped reading before the end finds none yet says "more"
      this.line(
        `No jobs${which} among the first ${MAX_FILTER_SCAN} records read; ` +
          'more may match (filter by --queue or --status).',
      );
    } else if (shown.length === 0) {
      const unknown =
        name !== undefined && !app.registry.has(name)
          ? ' No job type of that name is registered here (`npx topiq job:types` lists them).'
          : '';
      this.line(
        `No ${status ?? ''}${status ? ' ' : ''}jobs${which}${queue ? ` in queue "${queue}"` : ''}.${unknown}`,
      );
    } else {
      this.table(shown.some((record) => record.owner !== null) ? [...COLUMNS, OWNER_COLUMN] : COLUMNS, shown);
      const cut = !more
        ? ''
        : filtered
          ? `, more may match (raise --limit, or filter by --queue or --status; --name and --owner read up to ${MAX_FILTER_SCAN} records in all)`
          : ', more not shown (raise --limit, or filter by --queue or --status)';
      this.line(`${plural(shown.length, 'job')} shown${cut}; see one with \`npx topiq job:show <id>\`.`);
    }
    return 0;
  }
}
