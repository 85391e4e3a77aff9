/**
 * `npx topiq queue:retry <id...|all>`: puts failed jobs back in their queues with their
 * attempts reset, like Laravel's `queue:retry`. Jobs past their `expiresAt` stay failed (named
 * ids are refused with `E_JOB_STATE`; with `all` they are passed over and named on stderr);
 * ids that another retry or forget took first are named on stderr, with exit 1; retried jobs of
 * names this app registers no class for are warned of on stderr.
 */
import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { FailedJobs, listIds } from '../../queue/failed_jobs.js';
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';
import { collectJobIds, parseQueueName } from '../parsers.js';

/** Accepts job ids, or the single word `all`. */
export function collectRetryTargets(text: string, previous: string[] | undefined): string[] {
  const targets = collectJobIds(text, previous);
  // `all all`: the word once, as an id given twice counts once
  if (targets.every((target) => target === 'all')) return ['all'];
  if (targets.includes('all')) {
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
    const report = await new FailedJobs(app.driver, app.events).retry(targets, this.flags.queue);
    const count = report.retried;
    this.line(
      `Pushed ${plural(count, 'failed job')} back onto ${count === 1 ? 'its queue' : 'their queues'}.`,
    );
    const unknown = report.names.filter((name) => !app.registry.has(name));
    if (unknown.length > 0) {
      this.note(
        `warning: this app registers no job class named ${unknown.join(', ')}: unless the workers that take ` +
          'these jobs register it, they fail them again at once with E_JOB_NOT_REGISTERED',
      );
    }
    if (report.expired.length > 0) {
      this.note(
        `${plural(report.expired.length, 'failed job')} stayed failed, past ${report.expired.length === 1 ? 'its' : 'their'} ` +
          `expiresAt (a retry would only mark ${report.expired.length === 1 ? 'it' : 'them'} expired): ` +
          `${listIds(report.expired)}. Delete them with \`npx topiq queue:forget <id...>\`, or dispatch new jobs.`,
      );
    }
    if (report.missing.length > 0) {
      this.note(
        `${plural(report.missing.length, 'job')} ${report.missing.length === 1 ? 'was' : 'were'} no longer failed when ` +
          `retried (another retry or forget got there first), so not retried here: ${listIds(report.missing)}`,
      );
    }
    // a named id whose expiresAt passed after it was looked up was not retried, as asked
    const namedExpired = targets !== 'all' && report.expired.length > 0;
    return report.missing.length > 0 || namedExpired ? 1 : 0;
  }
}
