/**
 * Job ids kept sorted by a numeric score, ties broken by id: the in-memory counterpart of
 * a Redis sorted set, with the same order, so the memory driver lists, trims and selects
 * records exactly as the Redis driver does. Held jobs (by creation time) and finished
 * records (by finish time) live in these.
 */

interface Entry {
  readonly id: string;
  readonly score: number;
}

const before = (a: Entry, b: Entry): boolean => a.score < b.score || (a.score === b.score && a.id < b.id);

/**
 * A sorted set of ids. Scores are times that mostly grow, so adding is an append in
 * practice; removing from the middle costs a shift, which suits its callers.
 *
 * @example
 * const index = new SortedIndex();
 * index.add('b', 20);
 * index.add('a', 20);
 * index.add('c', 10);
 * index.ascending(0, 10); // ['c', 'a', 'b']
 */
export class SortedIndex {
  /** Lowest first. */
  readonly #entries: Entry[] = [];
  readonly #scores = new Map<string, number>();

  get size(): number {
    return this.#entries.length;
  }

  has(id: string): boolean {
    return this.#scores.has(id);
  }

  /** Adds `id` with `score`, or moves it there when it is present. */
  add(id: string, score: number): void {
    this.delete(id);
    const entry = { id, score };
    let index = this.#entries.length;
    if (index > 0 && before(entry, this.#entries[index - 1]!)) index = this.#search(entry);
    this.#entries.splice(index, 0, entry);
    this.#scores.set(id, score);
  }

  /** Removes `id`; false when it was not present. */
  delete(id: string): boolean {
    const score = this.#scores.get(id);
    if (score === undefined) return false;
    this.#entries.splice(this.#search({ id, score }), 1);
    this.#scores.delete(id);
    return true;
  }

  /** Ids lowest score first, skipping `offset`, at most `limit`. */
  ascending(offset: number, limit: number): string[] {
    const from = Math.max(0, offset);
    return this.#entries.slice(from, from + Math.max(0, limit)).map((entry) => entry.id);
  }

  /** Ids highest score first, skipping `offset`, at most `limit`. */
  descending(offset: number, limit: number): string[] {
    const ids: string[] = [];
    for (
      let index = this.#entries.length - 1 - Math.max(0, offset);
      index >= 0 && ids.length < limit;
      index--
    ) {
      ids.push(this.#entries[index]!.id);
    }
    return ids;
  }

  /** Removes and returns the ids scored at or below `maxScore`, lowest first. */
  takeUpTo(maxScore: number): string[] {
    let count = 0;
    while (count < this.#entries.length && this.#entries[count]!.score <= maxScore) count++;
    return this.takeLowest(count);
  }

  /** Removes and returns the `count` lowest ids. */
  takeLowest(count: number): string[] {
    if (count <= 0) return [];
    const ids = this.#entries.splice(0, count).map((entry) => entry.id);
    for (const id of ids) this.#scores.delete(id);
    return ids;
  }

  /** Where `entry` is or would go: the first index not before it. */
  #search(entry: Entry): number {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (before(this.#entries[middle]!, entry)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
