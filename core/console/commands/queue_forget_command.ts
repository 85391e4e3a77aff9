/** `npx topiq queue:forget <id...>`: deletes failed jobs by id without retrying them. */
import { Argument, type Command, Option } from 'commander';
import { FailedJobs } from '../../queue/failed_jobs.js';
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';
import { collectJobIds, parseQueueName } from '../parsers.js';

/** Deletes failed jobs by id. */
export class QueueForgetCommand extends BaseCommand<{ queue?: string }, [string[]]> {
  static override readonly commandName = 'queue:forget';
  static override readonly description = 'Delete failed jobs by id';

  static override configure(command: Command): void {
    command
      .addArgument(new Argument('<ids...>', 'ids from `queue:failed`').argParser(collectJobIds))
      .addOption(
        new Option('--queue <name>', 'only this queue (default: every queue)').argParser(parseQueueName),
      );
  }

  async run(): Promise<number> {
    const [ids] = this.args;
    const app = await this.appWithKnownQueue();
    const count = await new FailedJobs(app.driver).forget(ids, this.flags.queue);
    this.line(`Deleted ${plural(count, 'failed job')}.`);
    return 0;
  }
}
