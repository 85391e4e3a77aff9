/**
 * `npx topiq messages:failed`: lists dead-lettered MQTT messages (those a route's
 * middleware or handler rejected), newest first, as a table for people or as JSON (every
 * stored field, full payload) for scripts. An entry that is not a dead letter (damaged, or
 * pushed by hand) is skipped, the rest still listed, and a note on stderr says where it is.
 * The store is read a page of {@link PAGE_SIZE} entries at a time, and the JSON written entry
 * by entry as each page comes: 10,000 entries of 64 KiB payloads make more text than one
 * JavaScript string can hold, and up to 1 GB read at once. The table keeps only its cells (a
 * payload's first 40 characters) until it is printed, its widths known.
 */
import { type Command, Option } from 'commander';
import type {
  DeadLetter,
  DeadLetterPage,
  DeadLetterStore,
  UnreadableDeadLetter,
} from '../../messaging/dead_letters.js';
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

/**
 * How many entries one read of the store takes, whatever `--limit` is: at most 100 of the
 * largest entries (64 KiB payload, 4 KiB reason, 1 KiB topic and client id: about 7 MB), more
 * as JSON text when their bytes need escaping (a control character takes six).
 */
const PAGE_SIZE = 100;

/** The cells of a table row, each as the table shows it. */
type Row = Record<(typeof HEADERS)[number], string>;

const HEADERS = ['id', 'at', 'topic', 'route', 'code', 'reason', 'payload'] as const;

const COLUMNS: readonly TableColumn<Row>[] = HEADERS.map((header) => ({
  header,
  value: (row) => row[header],
}));

/** A dead letter's row: what the table shows of it, without the rest of its payload and reason. */
function toRow(entry: DeadLetter): Row {
  return {
    id: entry.id,
    at: new Date(entry.at).toISOString(),
    topic: entry.topic,
    route: entry.route ?? '-',
    code: entry.code ?? '-',
    reason: truncate(entry.reason, 60),
    payload: payloadPreview(entry),
  };
}

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
    const unreadable: UnreadableDeadLetter[] = [];
    const rows: Row[] = [];
    const json = this.flags.json ? new JsonArrayWriter(this.context.io.stdout) : undefined;
    for await (const page of readPages(app.deadLetters, this.flags.limit)) {
      unreadable.push(...page.unreadable);
      if (json) for (const entry of page.entries) json.write(entry);
      else rows.push(...page.entries.map(toRow));
    }
    // on stderr, table or JSON: stdout stays what it would be without them
    if (unreadable.length > 0) this.note(unreadableNote(unreadable));
    if (json) {
      json.end();
    } else if (rows.length === 0) {
      this.line(unreadable.length > 0 ? 'No readable dead-lettered messages.' : 'No dead-lettered messages.');
    } else {
      this.table(COLUMNS, rows);
      this.line(
        `${plural(rows.length, 'message')} shown; full payloads with --json, delete them with \`npx topiq messages:flush\`.`,
      );
    }
    return 0;
  }
}

/**
 * The newest `limit` entries of `store`, a page of at most `pageSize` at a time, each page
 * going on after the one before (see `DeadLetterReadOptions.after`): dead letters added while
 * they are read are not read, nor any entry twice.
 *
 * @example
 * for await (const page of readPages(app.deadLetters, 10_000)) show(page.entries);
 */
async function* readPages(
  store: DeadLetterStore,
  limit: number,
  pageSize = PAGE_SIZE,
): AsyncGenerator<DeadLetterPage> {
  let left = limit;
  let page = await store.read(Math.min(pageSize, left));
  for (;;) {
    yield page;
    left -= page.entries.length + page.unreadable.length;
    if (left <= 0 || page.next === undefined) return;
    page = await store.read(Math.min(pageSize, left), { after: page.next });
  }
}

/**
 * Writes to `sink` the indented JSON array `formatJson(values)` would give, one element per
 * write, as the elements come, so that no string ever holds the whole array.
 *
 * @example
 * const json = new JsonArrayWriter(process.stdout);
 * for (const entry of page.entries) json.write(entry); // '[\n  {\n    "id": ...\n  }', ',\n  {...}'
 * json.end(); // '\n]\n' ('[]\n' when nothing was written)
 */
class JsonArrayWriter {
  readonly #sink: TextSink;
  #count = 0;

  constructor(sink: TextSink) {
    this.#sink = sink;
  }

  /** Writes one element. */
  write(value: object): void {
    // an element's lines, indented one level more, as inside the array; JSON text holds no
    // newline but between its tokens
    const element = formatJson(value).slice(0, -1).replaceAll('\n', '\n  ');
    this.#sink.write(`${this.#count++ === 0 ? '[\n' : ',\n'}  ${element}`);
  }

  /** Closes the array. */
  end(): void {
    this.#sink.write(this.#count === 0 ? formatJson([]) : '\n]\n');
  }
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
