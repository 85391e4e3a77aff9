/** `npx topiq queue:forget <id...>`: deletes failed jobs by id without retrying them. */
import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { FailedJobs } from '../../queue/failed_jobs.js';
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';
import { collectJobIds, parseQueueName } from '../parsers.js';

/** Accepts job ids; not `all` (no job has that id), which `queue:flush` means here. */
export function collectForgetIds(text: string, previous: string[] | undefined): string[] {
  if (text === 'all') {
    throw new InvalidArgumentError(
      'queue:forget takes job ids. To delete every failed job, run queue:flush (--queue <name> for one queue).',
    );
  }
  return collectJobIds(text, previous);
}

/** Deletes failed jobs by id. */
export class QueueForgetCommand extends BaseCommand<{ queue?: string }, [string[]]> {
  static override readonly commandName = 'queue:forget';
  static override readonly description = 'Delete failed jobs by id';

  static override configure(command: Command): void {
    command
      .addArgument(new Argument('<ids...>', 'ids from `queue:failed`').argParser(collectForgetIds))
      .addOption(
        new Option('--queue <name>', 'only this queue (default: every queue)').argParser(parseQueueName),
      );
  }

  async run(): Promise<number> {
    const [ids] = this.args;
    const app = await this.appWithKnownQueue();
    const count = await new FailedJobs(app.driver).forget(ids, this.flags.queue);
    this.line(`Deleted ${plural(count, 'failed job')}.`);
    // each id was found failed a moment before: one not deleted was taken meanwhile
    const gone = new Set(ids).size - count;
    if (gone <= 0) return 0;
    this.note(
      `${plural(gone, 'job')} ${gone === 1 ? 'was' : 'were'} no longer failed when deleted ` +
        '(another retry or forget got there first)',
    );
    return 1;
  }
}
