import { describe, expect, it } from 'vitest';
import { SortedIndex } from '../../../../../core/queue/drivers/memory/sorted_index.js';

describe('SortedIndex', () => {
  it('orders by score, then by id among equal scores, like a Redis sorted set', () => {
    const index = new SortedIndex();
    index.add('b', 20);
    index.add('c', 10);
    index.add('a', 20);
    index.add('d', 5);
    index.add('d', 30); // moved, not duplicated
    expect(index.ascending(0, 10)).toEqual(['c', 'a', 'b', 'd']);
    expect(index.descending(1, 2)).toEqual(['b', 'a']);
    expect(index.size).toBe(4);
  });

  it('takes the ids scored at or below a bound, and the lowest ones by count', () => {
    const index = new SortedIndex();
    for (const [id, score] of [
      ['x', 1],
      ['y', 2],
      ['z', 3],
      ['w', 4],
    ] as const) {
      index.add(id, score);
    }
    expect(index.takeUpTo(2)).toEqual(['x', 'y']);
    expect(index.takeLowest(1)).toEqual(['z']);
    expect(index.takeLowest(0)).toEqual([]);
    expect(index.has('z')).toBe(false);
    expect(index.delete('w')).toBe(true);
    expect(index.delete('w')).toBe(false);
    expect(index.size).toBe(0);
  });
});
