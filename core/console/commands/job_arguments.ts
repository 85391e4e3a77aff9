/** The `<id> [--queue=]` arguments every command about one job takes. */
import { Argument, type Command, Option } from 'commander';
import { parseJobId, parseQueueName } from '../parsers.js';

/** Declares `<id>` and `--queue <name>` on `command`. */
export function addJobIdArguments(command: Command, idDescription = 'the job id'): Command {
  return command
    .addArgument(new Argument('<id>', idDescription).argParser(parseJobId))
    .addOption(
      new Option('--queue <name>', 'look only in this queue (default: every queue)').argParser(
        parseQueueName,
      ),
    );
}
