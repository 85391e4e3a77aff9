/**
 * What commands print: plain text tables for people, JSON (2-space indent) for scripts.
 * Kept dependency-free; a table is a header row, a rule and left-aligned columns.
 */

/** Anything a command writes text to (`process.stdout`, or a buffer in tests). */
export interface TextSink {
  write(text: string): unknown;
}

/** One column of a table: its header and how to read a row's cell. */
export interface TableColumn<Row> {
  header: string;
  value: (row: Row) => string | number | null | undefined;
  /** Right-align (numbers). */
  alignRight?: boolean;
}

/**
 * Renders rows as a plain text table ending in a newline. Control characters inside
 * cells become spaces (see {@link plainText}) so one row stays one line.
 *
 * @example
 * renderTable([{ header: 'queue', value: (r) => r.name }], [{ name: 'emails' }]);
 * // "queue\n------\nemails\n"
 */
export function renderTable<Row>(columns: readonly TableColumn<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => cellText(column.value(row))));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((row) => row[index]!.length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => {
        const width = widths[index]!;
        return columns[index]!.alignRight ? value.padStart(width) : value.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const header = line(columns.map((column) => column.header));
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [header, rule, ...cells.map(line)].join('\n') + '\n';
}

/**
 * `value` as JSON with a 2-space indent and a trailing newline. DEL and C1 characters, which
 * `JSON.stringify` leaves raw, are written as `\u` escapes too (the same JSON, nothing a
 * terminal could act on).
 */
export function formatJson(value: unknown): string {
  const text = String(JSON.stringify(value, null, 2)).replace(
    /[\u007f-\u009f]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `${text}\n`;
}

export { truncate } from '../support/text.js';

/** `1 job`, `3 jobs`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being removed
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/**
 * `text` with every run of control characters (C0, DEL and C1, so ESC and CSI too) made one
 * space: text from records (error messages, stacks, progress messages a handler copied from
 * device data) cannot move the cursor, recolour or retitle the operator's terminal. With
 * `keepNewlines`, line breaks stay and each line is cleaned on its own.
 *
 * @example
 * plainText('boom\u001b[2J'); // 'boom [2J'
 * plainText('Error: x\n    at f', { keepNewlines: true }); // unchanged
 */
export function plainText(text: string, options: { keepNewlines?: boolean } = {}): string {
  if (options.keepNewlines) {
    return text
      .split('\n')
      .map((line) => line.replace(CONTROL, ' '))
      .join('\n');
  }
  return text.replace(CONTROL, ' ');
}

function cellText(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  return plainText(String(value));
}
