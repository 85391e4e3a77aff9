/** `npx topiq queue:prune-failed --hours=N`: deletes failed jobs older than N hours. */
import { type Command, Option } from 'commander';
import { FailedJobs } from '../../queue/failed_jobs.js';
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';
import { parseNonNegativeNumber, parseQueueName } from '../parsers.js';

/** Deletes old failed jobs. */
export class QueuePruneFailedCommand extends BaseCommand<{ hours: number; queue?: string }> {
  static override readonly commandName = 'queue:prune-failed';
  static override readonly description = 'Delete failed jobs older than --hours';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--hours <n>', 'delete jobs that failed more than this many hours ago; 0 deletes all')
          .argParser(parseNonNegativeNumber)
          .default(24),
      )
      .addOption(
        new Option('--queue <name>', 'only this queue (default: every queue)').argParser(parseQueueName),
      );
  }

  async run(): Promise<number> {
    const app = await this.appWithKnownQueue();
    const { hours, queue } = this.flags;
    const count = await new FailedJobs(app.driver).prune(hours, queue);
    this.line(`Deleted ${plural(count, 'failed job')} older than ${plural(hours, 'hour')}.`);
    return 0;
  }
}
