/**
 * `npx topiq queue:retry <id...|all>`: puts failed jobs back in their queues with their
 * attempts reset, like Laravel's `queue:retry`.
 */
import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { FailedJobs } from '../../queue/failed_jobs.js';
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';
import { collectJobIds, parseQueueName } from '../parsers.js';

/** Accepts job ids, or the single word `all`. */
export function collectRetryTargets(text: string, previous: string[] | undefined): string[] {
  const targets = collectJobIds(text, previous);
  if (targets.length > 1 && targets.includes('all')) {
    throw new InvalidArgumentError('Pass either job ids or the single word "all", not both.');
  }
  return targets;
}

/** Retries failed jobs. */
export class QueueRetryCommand extends BaseCommand<{ queue?: string }, [string[]]> {
  static override readonly commandName = 'queue:retry';
  static override readonly description = 'Push failed jobs back onto their queues (ids, or "all")';

  static override configure(command: Command): void {
    command
      .addArgument(
        new Argument('<ids...>', 'ids from `queue:failed`, or "all"').argParser(collectRetryTargets),
      )
      .addOption(
        new Option('--queue <name>', 'only this queue (default: every queue)').argParser(parseQueueName),
      );
  }

  async run(): Promise<number> {
    const [ids] = this.args;
    const app = await this.appWithKnownQueue();
    const targets = ids.length === 1 && ids[0] === 'all' ? 'all' : ids;
    const count = await new FailedJobs(app.driver, app.events).retry(targets, this.flags.queue);
    this.line(
      `Pushed ${plural(count, 'failed job')} back onto ${count === 1 ? 'its queue' : 'their queues'}.`,
    );
    return 0;
  }
}
