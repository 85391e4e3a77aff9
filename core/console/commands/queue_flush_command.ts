/** `npx topiq queue:flush`: deletes every failed job, of one queue or all. */
import { type Command, Option } from 'commander';
import { FailedJobs } from '../../queue/failed_jobs.js';
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';
import { parseQueueName } from '../parsers.js';

/** Deletes every failed job. */
export class QueueFlushCommand extends BaseCommand<{ queue?: string }> {
  static override readonly commandName = 'queue:flush';
  static override readonly description = 'Delete every failed job';

  static override configure(command: Command): void {
    command.addOption(
      new Option('--queue <name>', 'only this queue (default: every queue)').argParser(parseQueueName),
    );
  }

  async run(): Promise<number> {
    const app = await this.appWithKnownQueue();
    const count = await new FailedJobs(app.driver).flush(this.flags.queue);
    this.line(`Deleted ${plural(count, 'failed job')}.`);
    return 0;
  }
}
