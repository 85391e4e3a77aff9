/**
 * A binary min-heap whose entries are addressed by a string key, so an entry can be
 * removed or re-ordered in O(log n) without a scan. The memory driver keeps its waiting,
 * delayed and running jobs in these heaps: reserving the next job never walks a queue,
 * and cancelling or renewing a lease touches only one entry.
 */

/** Orders two values: negative when `a` comes first, positive when `b` does. */
export type Comparator<T> = (a: T, b: T) => number;

/** One entry of a {@link PriorityHeap}. */
export interface HeapEntry<T> {
  readonly key: string;
  readonly value: T;
}

/**
 * A min-heap of keyed values; each key appears at most once.
 *
 * @example
 * const heap = new PriorityHeap<number>((a, b) => a - b);
 * heap.set('late', 30);
 * heap.set('soon', 10);
 * heap.set('late', 5); // re-ordered, not duplicated
 * heap.pop(); // { key: 'late', value: 5 }
 */
export class PriorityHeap<T> {
  readonly #compare: Comparator<T>;
  readonly #entries: HeapEntry<T>[] = [];
  readonly #positions = new Map<string, number>();

  constructor(compare: Comparator<T>) {
    this.#compare = compare;
  }

  /** How many entries the heap holds. */
  get size(): number {
    return this.#entries.length;
  }

  /** True when an entry with `key` is in the heap. */
  has(key: string): boolean {
    return this.#positions.has(key);
  }

  /** The value stored under `key`, if any. */
  get(key: string): T | undefined {
    const index = this.#positions.get(key);
    return index === undefined ? undefined : this.#entries[index]!.value;
  }

  /** Adds `value` under `key`, or moves the existing entry to the place `value` sorts to. */
  set(key: string, value: T): void {
    const index = this.#positions.get(key);
    if (index !== undefined) {
      this.#entries[index] = { key, value };
      this.#siftUp(index);
      this.#siftDown(this.#positions.get(key)!);
      return;
    }
    this.#entries.push({ key, value });
    this.#positions.set(key, this.#entries.length - 1);
    this.#siftUp(this.#entries.length - 1);
  }

  /** The first entry, left in place. */
  peek(): HeapEntry<T> | undefined {
    return this.#entries[0];
  }

  /** Removes and returns the first entry. */
  pop(): HeapEntry<T> | undefined {
    const first = this.#entries[0];
    if (first !== undefined) this.delete(first.key);
    return first;
  }

  /** Removes the entry under `key`; false when there was none. */
  delete(key: string): boolean {
    const index = this.#positions.get(key);
    if (index === undefined) return false;
    this.#positions.delete(key);
    const last = this.#entries.pop()!;
    if (index < this.#entries.length) {
      this.#entries[index] = last;
      this.#positions.set(last.key, index);
      this.#siftUp(index);
      this.#siftDown(this.#positions.get(last.key)!);
    }
    return true;
  }

  /** Every key, in no particular order. */
  keys(): string[] {
    return [...this.#positions.keys()];
  }

  /** Every entry in heap order (or `compare`'s), first first, without changing the heap (O(n log n)). */
  sorted(compare: (a: T, b: T) => number = this.#compare): HeapEntry<T>[] {
    return [...this.#entries].sort((a, b) => compare(a.value, b.value));
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries.length = 0;
    this.#positions.clear();
  }

  #before(a: number, b: number): boolean {
    return this.#compare(this.#entries[a]!.value, this.#entries[b]!.value) < 0;
  }

  #swap(a: number, b: number): void {
    const first = this.#entries[a]!;
    const second = this.#entries[b]!;
    this.#entries[a] = second;
    this.#entries[b] = first;
    this.#positions.set(second.key, a);
    this.#positions.set(first.key, b);
  }

  #siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#before(index, parent)) return;
      this.#swap(index, parent);
      index = parent;
    }
  }

  #siftDown(start: number): void {
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.#entries.length && this.#before(left, smallest)) smallest = left;
      if (right < this.#entries.length && this.#before(right, smallest)) smallest = right;
      if (smallest === index) return;
      this.#swap(index, smallest);
      index = smallest;
    }
  }
}
