/**
 * `npx topiq job:release <id>`: releases a job dispatched on hold (`pending`) into its
 * queue, where it becomes `queued`, or `delayed` when its run time is still ahead.
 */
import type { Command } from 'commander';
import { BaseCommand } from '../command.js';
import { addJobIdArguments } from './job_arguments.js';

/** Releases one held job. */
export class JobReleaseCommand extends BaseCommand<{ queue?: string }, [string]> {
  static override readonly commandName = 'job:release';
  static override readonly description = 'Release a job dispatched on hold (pending) into its queue';

  static override configure(command: Command): void {
    addJobIdArguments(command, 'the id of a pending (held) job');
  }

  async run(): Promise<number> {
    const app = await this.appWithKnownQueue();
    this.line(await app.jobs.release(this.args[0], this.flags.queue));
    return 0;
  }
}
