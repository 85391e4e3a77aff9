/**
 * `npx topiq messages:failed`: lists dead-lettered MQTT messages (those a route's
 * middleware or handler rejected), newest first, as a table for people or as JSON (every
 * stored field, full payload) for scripts. An entry that is not a dead letter (damaged, or
 * pushed by hand) is skipped, the rest still listed, and a note on stderr says where it is.
 * The JSON is written entry by entry: 10,000 entries of 64 KiB payloads make more text than
 * one JavaScript string can hold.
 */
import { type Command, Option } from 'commander';
import type { DeadLetter, UnreadableDeadLetter } from '../../messaging/dead_letters.js';
import { BaseCommand } from '../command.js';
import { formatJson, plural, type TableColumn, type TextSink, truncate } from '../output.js';
import { MAX_LIST_LIMIT } from '../../queue/job_manager.js';
import { parseLimitUpTo } from '../parsers.js';

/** The flags of `messages:failed`, as parsed. */
export interface MessagesFailedFlags {
  limit: number;
  json?: boolean;
}

/** How many unreadable entries the note places (the count covers them all). */
const NOTED_PLACES = 20;

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
    const { entries, unreadable } = await app.deadLetters.read(this.flags.limit);
    // on stderr, table or JSON: stdout stays what it would be without them
    if (unreadable.length > 0) this.note(unreadableNote(unreadable));
    if (this.flags.json) {
      writeJsonArray(this.context.io.stdout, entries);
    } else if (entries.length === 0) {
      this.line(unreadable.length > 0 ? 'No readable dead-lettered messages.' : 'No dead-lettered messages.');
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
 * Writes `values` to `sink` as the indented JSON array `formatJson(values)` would give, one
 * element per write, so that no string ever holds the whole array.
 *
 * @example
 * writeJsonArray(process.stdout, entries); // '[\n  {\n    "id": ...\n  },\n  {...}\n]\n'
 */
export function writeJsonArray(sink: TextSink, values: readonly object[]): void {
  if (values.length === 0) {
    sink.write(formatJson([]));
    return;
  }
  values.forEach((value, index) => {
    // an element's lines, indented one level more, as inside the array; JSON text holds no
    // newline but between its tokens
    const element = formatJson(value).slice(0, -1).replaceAll('\n', '\n  ');
    sink.write(`${index === 0 ? '[\n' : ',\n'}  ${element}`);
  });
  sink.write('\n]\n');
}

/**
 * The note on entries that could not be read: how many, and where, so an operator can look at
 * them with redis-cli.
 *
 * @example
 * unreadableNote([{ index: 3, key: 'topiq:dead-letters', reason: 'not JSON' }]);
 * // 'messages:failed: 1 entry could not be read and was skipped: index 3 (not JSON) of Redis list ...'
 */
export function unreadableNote(unreadable: readonly UnreadableDeadLetter[]): string {
  const key = unreadable[0]?.key ?? '';
  const shown = unreadable.slice(0, NOTED_PLACES);
  const places = shown.map((entry) => `${entry.index} (${entry.reason})`).join(', ');
  const rest = unreadable.length > shown.length ? ` and ${unreadable.length - shown.length} more` : '';
  const count = `${unreadable.length} ${unreadable.length === 1 ? 'entry' : 'entries'}`;
  return (
    `messages:failed: ${count} could not be read and ${unreadable.length === 1 ? 'was' : 'were'} skipped: ` +
    `${unreadable.length === 1 ? 'index' : 'indexes'} ${places}${rest} of Redis list ${key} (newest first from 0); ` +
    `see one with \`redis-cli LINDEX ${key} <index>\`.`
  );
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
