/**
 * `npx topiq job:release <id>`: releases a job dispatched on hold (`pending`) into its
 * queue, where it becomes `queued`, or `delayed` when its run time is still ahead.
 */
import { Argument, type Command, Option } from 'commander';
import { BaseCommand } from '../command.js';
import { parseJobId, parseQueueName } from '../parsers.js';

/** Releases one held job. */
export class JobReleaseCommand extends BaseCommand<{ queue?: string }, [string]> {
  static override readonly commandName = 'job:release';
  static override readonly description = 'Release a job dispatched on hold (pending) into its queue';

  static override configure(command: Command): void {
    command
      .addArgument(new Argument('<id>', 'the id of a pending (held) job').argParser(parseJobId))
      .addOption(
        new Option('--queue <name>', 'look only in this queue (default: every queue)').argParser(
          parseQueueName,
        ),
      );
  }

  async run(): Promise<number> {
    const app = await this.app();
    this.line(await app.jobs.release(this.args[0], this.flags.queue));
    return 0;
  }
}
