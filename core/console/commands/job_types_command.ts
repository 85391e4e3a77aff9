/**
 * `npx topiq job:types`: the jobs the registry knows (`app/jobs/index.ts`), the only names
 * `job:dispatch`, the MQTT job command topic and a worker accept, with the settings each
 * class declares. A setting a class leaves out is shown as `-`: the worker's flag decides
 * (`--tries`, `--timeout`, `--backoff`). Needs no Redis.
 */
import { type Command, Option } from 'commander';
import { type JobClass, jobNameOf } from '../../queue/job.js';
import type { RetryPolicy } from '../../queue/retry_policy.js';
import { BaseCommand } from '../command.js';
import type { TableColumn } from '../output.js';

/** One job class as `job:types --json` prints it; `null` where the class sets nothing. */
export interface JobTypeOutput {
  name: string;
  /** The queue it is dispatched to unless told otherwise. */
  queue: string;
  maxTries: number | null;
  /** Seconds one attempt may run. */
  timeout: number | null;
  retryAfter: RetryPolicy | null;
  priority: number | null;
  /** Whether a payload sent by name is checked against a schema. */
  schema: boolean;
}

const COLUMNS: readonly TableColumn<JobTypeOutput>[] = [
  { header: 'name', value: (row) => row.name },
  { header: 'queue', value: (row) => row.queue },
  { header: 'tries', value: (row) => row.maxTries ?? '-', alignRight: true },
  { header: 'timeout', value: (row) => (row.timeout === null ? '-' : `${row.timeout}s`), alignRight: true },
  { header: 'retry_after', value: (row) => retryText(row.retryAfter) },
  { header: 'priority', value: (row) => row.priority ?? '-', alignRight: true },
  { header: 'schema', value: (row) => (row.schema ? 'yes' : 'no') },
];

/** Lists the registered job classes. */
export class JobTypesCommand extends BaseCommand<{ json?: boolean }> {
  static override readonly commandName = 'job:types';
  static override readonly readsQueues = false;
  static override readonly description = 'List the registered jobs, whose names job:dispatch takes';

  static override configure(command: Command): void {
    command.addOption(new Option('--json', 'print JSON'));
  }

  async run(): Promise<number> {
    const { registry } = await this.app();
    const types = registry
      .classes()
      .map(toJobTypeOutput)
      .sort((a, b) => a.name.localeCompare(b.name));
    if (this.flags.json) this.json(types);
    else if (types.length === 0) this.line('No jobs registered: add job classes to app/jobs/index.ts.');
    else this.table(COLUMNS, types);
    return 0;
  }
}

/** What `job:types --json` prints for `job`. */
export function toJobTypeOutput(job: JobClass): JobTypeOutput {
  return {
    name: jobNameOf(job),
    queue: job.queue ?? 'default',
    maxTries: job.maxTries ?? null,
    timeout: job.timeout ?? null,
    retryAfter: job.retryAfter ?? null,
    priority: job.priority ?? null,
    schema: job.schema !== undefined,
  };
}

/** A retry policy: `10s`, `1s,5s,30s`, or `exp:2:300 (full jitter)` as `--backoff` writes it. */
function retryText(policy: RetryPolicy | null): string {
  if (policy === null) return '-';
  if (typeof policy === 'number') return `${policy}s`;
  if (Array.isArray(policy)) return policy.map((seconds) => `${seconds}s`).join(',');
  const { base, max, jitter } = policy as Exclude<RetryPolicy, number | readonly number[]>;
  const spec = `exp:${base}${max === undefined ? '' : `:${max}`}`;
  return jitter === undefined || jitter === 'none' ? spec : `${spec} (${jitter} jitter)`;
}
