/**
 * Job ids in the order they were added, each with its time: the in-memory counterpart of the
 * Redis driver's completed list (`complete_jobs.lua` appends each acknowledged id at its tail,
 * and `read_records.lua` reads it newest first from there), with the same order, so records
 * finished in one millisecond (every job of one acknowledgement batch) list and trim alike in
 * both drivers. Completed records live in this; cancelled and expired ones, which Redis keeps
 * in sorted sets, in a {@link SortedIndex}.
 */

/**
 * A list of ids, oldest added first. Adding is an append and trimming takes from the head, each
 * O(1) amortized per id; a page is read straight from the tail. Removing an id from the middle
 * costs a shift, and its callers never need it for an id that is present.
 *
 * @example
 * const index = new AppendIndex();
 * index.add('c', 20);
 * index.add('a', 20);
 * index.add('b', 20);
 * index.descending(0, 10); // ['b', 'a', 'c']
 */
export class AppendIndex {
  /** Oldest first, from `#head` on: the slots before it were taken, and go at the next compaction. */
  #ids: string[] = [];
  #times: number[] = [];
  #head = 0;
  readonly #members = new Set<string>();

  get size(): number {
    return this.#ids.length - this.#head;
  }

  has(id: string): boolean {
    return this.#members.has(id);
  }

  /** Appends `id` with time `at`, or moves it to the tail when it is present. */
  add(id: string, at: number): void {
    this.delete(id);
    this.#ids.push(id);
    this.#times.push(at);
    this.#members.add(id);
  }

  /** Removes `id`; false when it was not present. */
  delete(id: string): boolean {
    if (!this.#members.delete(id)) return false;
    const index = this.#ids.indexOf(id, this.#head);
    this.#ids.splice(index, 1);
    this.#times.splice(index, 1);
    return true;
  }

  /** Ids newest added first, skipping `offset`, at most `limit`. */
  descending(offset: number, limit: number): string[] {
    const ids: string[] = [];
    for (
      let index = this.#ids.length - 1 - Math.max(0, offset);
      index >= this.#head && ids.length < limit;
      index--
    ) {
      ids.push(this.#ids[index]!);
    }
    return ids;
  }

  /**
   * Removes and returns, oldest first, the ids from the head up to the first one timed after
   * `maxAt`: as `complete_jobs.lua` trims by age, reading from the head until a record is kept.
   */
  takeUpTo(maxAt: number): string[] {
    let count = 0;
    while (this.#head + count < this.#ids.length && this.#times[this.#head + count]! <= maxAt) count++;
    return this.takeLowest(count);
  }

  /** Removes and returns the `count` oldest ids. */
  takeLowest(count: number): string[] {
    if (count <= 0) return [];
    const end = Math.min(this.#ids.length, this.#head + count);
    const ids = this.#ids.slice(this.#head, end);
    for (const id of ids) this.#members.delete(id);
    this.#head = end;
    // the taken slots go once they are half the array: each is moved O(1) times on average
    if (this.#head * 2 >= this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
    return ids;
  }
}
