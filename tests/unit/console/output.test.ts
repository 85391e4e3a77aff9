import { describe, expect, it } from 'vitest';
import { formatJson, plural, renderTable, truncate } from '../../../core/console/index.js';

describe('renderTable', () => {
  it('pads columns to their widest cell, right-aligns numbers and ends with a newline', () => {
    const text = renderTable(
      [
        { header: 'queue', value: (row: { name: string; size: number }) => row.name },
        { header: 'size', value: (row) => row.size, alignRight: true },
      ],
      [
        { name: 'emails', size: 12 },
        { name: 'telemetry-high', size: 3 },
      ],
    );
    expect(text).toBe(
      [
        'queue           size',
        '--------------  ----',
        'emails            12',
        'telemetry-high     3',
        '',
      ].join('\n'),
    );
  });

  it('turns escape sequences in cells into plain text, the 8-bit CSI included', () => {
    const text = renderTable(
      [{ header: 'reason', value: (row: { e: string }) => row.e }],
      [{ e: 'a\u001b[2Jb\u009b1Ac\u007f' }],
    );
    expect(text.split('\n')[2]).toBe('a [2Jb 1Ac');
  });

  it('keeps one row on one line when a cell holds newlines and shows nulls as empty', () => {
    const text = renderTable(
      [{ header: 'error', value: (row: { e: string | null }) => row.e }],
      [{ e: 'line one\nline two' }, { e: null }],
    );
    expect(text.split('\n')).toEqual(['error', '-----------------', 'line one line two', '', '']);
  });
});

describe('formatJson', () => {
  it('indents with two spaces and ends with a newline', () => {
    expect(formatJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}\n');
  });

  it('escapes every control character, C1 and DEL included, and the value reads back unchanged', () => {
    const value = { reason: 'a\u001b[2Jb\u009b1Ac\u007f' };
    const text = formatJson(value);
    expect(text).toBe('{\n  "reason": "a\\u001b[2Jb\\u009b1Ac\\u007f"\n}\n');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('truncate and plural', () => {
  it('cut long text with an ellipsis and count nouns', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(plural(1, 'job')).toBe('1 job');
    expect(plural(0, 'job')).toBe('0 jobs');
  });

  it('never cuts between the halves of a character outside the BMP (an emoji a device sent)', () => {
    const cut = truncate('ab😀cd', 4); // the cut would fall inside 😀 (two UTF-16 units)
    expect(cut).toBe('ab…');
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut); // no lone surrogate: survives UTF-8
  });
});
