/**
 * `npx topiq job:cancel <id>`: cancels a job. One that has not started is cancelled at
 * once; for a running one a cancel is requested: its worker fires the job's AbortSignal
 * and the job ends `cancelled` (not retried). A finished job cannot be cancelled.
 */
import type { Command } from 'commander';
import { BaseCommand } from '../command.js';
import { addJobIdArguments } from './job_arguments.js';

/** Cancels one job. */
export class JobCancelCommand extends BaseCommand<{ queue?: string }, [string]> {
  static override readonly commandName = 'job:cancel';
  static override readonly description = 'Cancel a job (a running one is aborted through its AbortSignal)';

  static override configure(command: Command): void {
    addJobIdArguments(command);
  }

  async run(): Promise<number> {
    const app = await this.appWithKnownQueue();
    const status = await app.jobs.cancel(this.args[0], this.flags.queue);
    this.line(
      status === 'running'
        ? 'cancel requested (running; its AbortSignal fires and it ends cancelled)'
        : status,
    );
    return 0;
  }
}
