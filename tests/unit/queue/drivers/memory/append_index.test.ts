import { describe, expect, it } from 'vitest';
import { AppendIndex } from '../../../../../core/queue/drivers/memory/append_index.js';

describe('AppendIndex', () => {
  it('keeps the order ids were added in, whatever their ids, like the Redis completed list', () => {
    const index = new AppendIndex();
    index.add('c', 20);
    index.add('a', 20);
    index.add('b', 20);
    index.add('d', 30);
    index.add('c', 30); // moved to the tail, not duplicated
    expect(index.descending(0, 10)).toEqual(['c', 'd', 'b', 'a']);
    expect(index.descending(1, 2)).toEqual(['d', 'b']);
    expect(index.descending(4, 2)).toEqual([]);
    expect(index.size).toBe(4);
  });

  it('takes the oldest ids by count, and by time up to the first one kept', () => {
    const index = new AppendIndex();
    for (const [id, at] of [
      ['x', 1],
      ['y', 2],
      ['z', 3],
      ['w', 2],
      ['v', 5],
    ] as const) {
      index.add(id, at);
    }
    expect(index.takeLowest(1)).toEqual(['x']);
    // w is as old as y, but z stands before it and is kept
    expect(index.takeUpTo(2)).toEqual(['y']);
    expect(index.takeLowest(0)).toEqual([]);
    expect(index.has('y')).toBe(false);
    expect(index.delete('w')).toBe(true);
    expect(index.delete('w')).toBe(false);
    expect(index.descending(0, 10)).toEqual(['v', 'z']);
    expect(index.takeUpTo(10)).toEqual(['z', 'v']);
    expect(index.size).toBe(0);
  });

  it('stays in order through many more additions and trims than it holds', () => {
    const index = new AppendIndex();
    for (let n = 0; n < 10_000; n++) {
      index.add(`j${n}`, n);
      if (index.size > 100) index.takeLowest(index.size - 100);
    }
    expect(index.size).toBe(100);
    expect(index.descending(0, 2)).toEqual(['j9999', 'j9998']);
    expect(index.descending(99, 5)).toEqual(['j9900']);
    expect(index.takeUpTo(9_901)).toEqual(['j9900', 'j9901']);
  });
});
