/**
 * A `Map` for a long-lived owner whose entries come and go all the time: a worker's running
 * jobs, tens of thousands added and deleted a second.
 *
 * Why not a plain `Map`: V8 keeps a Map's entries in a table it replaces whenever deleted
 * entries fill it, and allocates each new table in the generation of the one it replaces.
 * Once a table reaches the old generation (a full GC promotes whatever is live, and two young
 * GCs while the map sits still promote its table too), every later one is born there, and
 * what it holds, every job a worker runs, is referenced from the old generation: the young GC
 * keeps it and promotes it, and the dead tables keep theirs until the next full GC. A busy
 * worker in that state stays in it (measured: GC per job from about 0.5 to 1.6-1.9 µs, worker
 * CPU from 5.5 to 8.2 µs; README, "Workers after a full GC"). This map starts over on a fresh
 * `Map`, whose table is born young, after as many deletes as it held entries at its last start
 * (at least `minRenewal`): one copy of the live entries, under one step a delete on average.
 * It offers what its users need of a Map, and hands out its values as a copy.
 */
export class ChurnMap<K, V> {
  #map = new Map<K, V>();
  #deletesLeft: number;
  readonly #minRenewal: number;

  /** @param minRenewal - fewest deletes between two fresh Maps (default 64) */
  constructor(minRenewal = 64) {
    this.#minRenewal = minRenewal;
    this.#deletesLeft = minRenewal;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): this {
    this.#map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.#map.delete(key)) return false;
    if (--this.#deletesLeft <= 0) {
      this.#map = new Map(this.#map);
      this.#deletesLeft = Math.max(this.#minRenewal, this.#map.size);
    }
    return true;
  }

  /**
   * The values now, in insertion order. A copy, unlike `Map.values()`: a live iterator would
   * go on reading the old Map after a delete renewed it.
   */
  values(): V[] {
    return [...this.#map.values()];
  }
}
