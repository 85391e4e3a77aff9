/**
 * `npx topiq queue:size`: how many jobs each queue holds, per state. Without `--queue`
 * it reports every queue that ever had a job pushed; a queue named that none was ever pushed
 * to fails with `E_QUEUE_NOT_FOUND`.
 */
import { type Command, Option } from 'commander';
import type { QueueCounts } from '../../queue/driver.js';
import { BaseCommand } from '../command.js';
import type { TableColumn } from '../output.js';
import { parseQueueNames } from '../parsers.js';

/** One queue's sizes as `queue:size --json` prints them. */
export interface QueueSizeOutput extends QueueCounts {
  queue: string;
}

const STATES: readonly (keyof QueueCounts)[] = [
  'waiting',
  'delayed',
  'running',
  'pending',
  'failed',
  'completed',
];

const COLUMNS: readonly TableColumn<QueueSizeOutput>[] = [
  { header: 'queue', value: (row) => row.queue },
  ...STATES.map((state) => ({
    header: state,
    value: (row: QueueSizeOutput) => row[state],
    alignRight: true,
  })),
];

/** Prints queue sizes. */
export class QueueSizeCommand extends BaseCommand<{ queue?: string[]; json?: boolean }> {
  static override readonly commandName = 'queue:size';
  static override readonly description = 'Show how many jobs each queue holds, per state';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--queue <names>', 'these queues, comma-separated (default: every queue)').argParser(
          parseQueueNames,
        ),
      )
      .addOption(new Option('--json', 'print JSON'));
  }

  async run(): Promise<number> {
    const { driver } = await this.appWithKnownQueue();
    const queues = this.flags.queue ?? (await driver.queues()).sort();
    const sizes: QueueSizeOutput[] = await Promise.all(
      queues.map(async (queue) => ({ queue, ...(await driver.counts(queue)) })),
    );
    if (this.flags.json) this.json(sizes);
    else if (sizes.length === 0) this.line('No queues yet: none has had a job pushed.');
    else this.table(COLUMNS, sizes);
    return 0;
  }
}
