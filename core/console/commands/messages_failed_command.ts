/**
 * `npx topiq messages:failed`: lists dead-lettered MQTT messages (those a route's
 * middleware or handler rejected), newest first, as a table for people or as JSON (every
 * stored field, full payload) for scripts.
 */
import { type Command, Option } from 'commander';
import type { DeadLetter } from '../../messaging/dead_letters.js';
import { BaseCommand } from '../command.js';
import { plural, type TableColumn, truncate } from '../output.js';
import { MAX_LIST_LIMIT } from '../../queue/job_manager.js';
import { parseLimitUpTo } from '../parsers.js';

/** The flags of `messages:failed`, as parsed. */
export interface MessagesFailedFlags {
  limit: number;
  json?: boolean;
}

/** How many characters of a payload the table shows. */
const PAYLOAD_PREVIEW = 40;

const COLUMNS: readonly TableColumn<DeadLetter>[] = [
  { header: 'id', value: (entry) => entry.id },
  { header: 'at', value: (entry) => new Date(entry.at).toISOString() },
  { header: 'topic', value: (entry) => entry.topic },
  { header: 'route', value: (entry) => entry.route ?? '-' },
  { header: 'code', value: (entry) => entry.code ?? '-' },
  { header: 'reason', value: (entry) => truncate(entry.reason, 60) },
  { header: 'payload', value: (entry) => payloadPreview(entry) },
];

/** Lists dead-lettered messages. */
export class MessagesFailedCommand extends BaseCommand<MessagesFailedFlags> {
  static override readonly commandName = 'messages:failed';
  static override readonly description = 'List dead-lettered MQTT messages, newest first';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--limit <n>', `show at most this many (up to ${MAX_LIST_LIMIT})`)
          .argParser(parseLimitUpTo(MAX_LIST_LIMIT))
          .default(50),
      )
      .addOption(new Option('--json', 'print full entries (whole payload) as JSON'));
  }

  async run(): Promise<number> {
    const app = await this.app();
    const entries = await app.deadLetters.list(this.flags.limit);
    if (this.flags.json) {
      this.json(entries);
    } else if (entries.length === 0) {
      this.line('No dead-lettered messages.');
    } else {
      this.table(COLUMNS, entries);
      this.line(
        `${plural(entries.length, 'message')} shown; full payloads with --json, delete them with \`npx topiq messages:flush\`.`,
      );
    }
    return 0;
  }
}

/**
 * The start of a payload on one line: whitespace runs collapsed, cut to 40 characters,
 * binary payloads marked `base64:`, payloads the store cut marked `…`.
 *
 * @example
 * payloadPreview(entry); // '{"temperature": "hot"}'
 */
export function payloadPreview(entry: Pick<DeadLetter, 'payload' | 'encoding' | 'truncated'>): string {
  const text = entry.encoding === 'base64' ? `base64:${entry.payload}` : entry.payload.replace(/\s+/g, ' ');
  const preview = truncate(text, PAYLOAD_PREVIEW);
  return entry.truncated && !preview.endsWith('…') ? `${preview}…` : preview;
}
