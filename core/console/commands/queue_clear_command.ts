/**
 * `npx topiq queue:clear --queue=name`: deletes the waiting and delayed jobs of one queue
 * (running jobs finish; failed records stay). It destroys work, so it asks first when a
 * person is at the terminal, and without one it insists on `--force`. A "no" deletes nothing
 * and exits 0: the operator chose, nothing failed. A queue that no job was ever pushed to (a
 * typo) fails with `E_QUEUE_NOT_FOUND` before anything is asked.
 */
import { type Command, Option } from 'commander';
import { CliUsageError } from '../../errors.js';
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';
import { parseQueueName } from '../parsers.js';

/** Empties a queue. */
export class QueueClearCommand extends BaseCommand<{ queue: string; force?: boolean }> {
  static override readonly commandName = 'queue:clear';
  static override readonly description = 'Delete the waiting and delayed jobs of a queue';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--queue <name>', 'the queue to clear').argParser(parseQueueName).makeOptionMandatory(),
      )
      .addOption(
        new Option('--force', 'do not ask for confirmation (required when stdin is not a terminal)'),
      );
  }

  async run(): Promise<number> {
    const { queue, force } = this.flags;
    const { io } = this.context;
    if (!force && !io.interactive) {
      throw new CliUsageError(
        `queue:clear deletes jobs and stdin is not a terminal to confirm it: pass --force to clear queue "${queue}"`,
      );
    }
    const app = await this.appWithKnownQueue();
    if (!force && !(await io.confirm(`Delete every waiting and delayed job of queue "${queue}"?`))) {
      this.line('Nothing deleted.');
      return 0;
    }
    const count = await app.driver.clear(queue);
    this.line(`Deleted ${plural(count, 'job')} from queue "${queue}".`);
    return 0;
  }
}
