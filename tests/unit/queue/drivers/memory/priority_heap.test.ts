import { describe, expect, it } from 'vitest';
import { PriorityHeap } from '../../../../../core/queue/drivers/memory/priority_heap.js';

interface Key {
  priority: number;
  order: number;
}

const byPriorityThenOrder = (a: Key, b: Key) => a.priority - b.priority || a.order - b.order;

function drain<T>(heap: PriorityHeap<T>): string[] {
  const keys: string[] = [];
  for (let entry = heap.pop(); entry; entry = heap.pop()) keys.push(entry.key);
  return keys;
}

describe('PriorityHeap', () => {
  it('pops the lowest priority first and keeps FIFO order among equal priorities', () => {
    const heap = new PriorityHeap<Key>(byPriorityThenOrder);
    const pushed: [string, number][] = [
      ['a', 0],
      ['b', 5],
      ['c', -3],
      ['d', 0],
      ['e', 5],
      ['f', -3],
      ['g', 0],
    ];
    for (const [order, [key, priority]] of pushed.entries()) heap.set(key, { priority, order });
    expect(drain(heap)).toEqual(['c', 'f', 'a', 'd', 'g', 'b', 'e']);
  });

  it('re-orders an entry that is set again instead of holding it twice', () => {
    const heap = new PriorityHeap<number>((a, b) => a - b);
    heap.set('x', 10);
    heap.set('y', 20);
    heap.set('z', 30);
    heap.set('z', 5);
    heap.set('x', 40);
    expect(heap.size).toBe(3);
    expect(drain(heap)).toEqual(['z', 'y', 'x']);
  });

  it('removes an entry from the middle and keeps the rest in order', () => {
    const heap = new PriorityHeap<number>((a, b) => a - b);
    for (let value = 0; value < 20; value++) heap.set(`k${value}`, (value * 7) % 20);
    expect(heap.delete('k3')).toBe(true);
    expect(heap.delete('k3')).toBe(false);
    expect(heap.has('k3')).toBe(false);
    const values: number[] = [];
    for (let entry = heap.pop(); entry; entry = heap.pop()) values.push(entry.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values).toHaveLength(19);
    expect(values).not.toContain(1); // k3 held (3 * 7) % 20 = 1
  });

  it('matches a sorted array through a long random mix of sets, deletes and pops', () => {
    const heap = new PriorityHeap<number>((a, b) => a - b);
    const model = new Map<string, number>();
    let seed = 42;
    const random = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    for (let step = 0; step < 5_000; step++) {
      const key = `k${random(200)}`;
      const action = random(4);
      if (action < 2) {
        const value = random(1_000);
        heap.set(key, value);
        model.set(key, value);
      } else if (action === 2) {
        expect(heap.delete(key)).toBe(model.delete(key));
      } else {
        const popped = heap.pop();
        const smallest = Math.min(...model.values());
        if (model.size === 0) expect(popped).toBeUndefined();
        else {
          expect(popped?.value).toBe(smallest);
          model.delete(popped!.key);
        }
      }
      expect(heap.size).toBe(model.size);
    }
  });

  it('peeks without removing and reports undefined when empty', () => {
    const heap = new PriorityHeap<number>((a, b) => a - b);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
    heap.set('only', 1);
    expect(heap.peek()).toEqual({ key: 'only', value: 1 });
    expect(heap.get('only')).toBe(1);
    expect(heap.size).toBe(1);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.keys()).toEqual([]);
  });
});
