import type { StateChange, StateEntry } from "./types.js";

/**
 * The last `limit` changes of a store, oldest first: O(1) per write, overwriting the oldest
 * once full (never `Array#shift`, which is O(n)). A limit of 0 keeps nothing.
 *
 * It keeps each change as its (entry, previous) pair in two parallel arrays and builds the
 * change objects only when `history()` is read: a write then allocates nothing here.
 * @internal
 */
export class HistoryRing {
  readonly #limit: number;
  // entry[i] is the new entry of a "set", undefined for a "delete"; previous[i] what it replaced.
  readonly #entry: (StateEntry | undefined)[] = [];
  readonly #previous: (StateEntry | undefined)[] = [];
  // The store-wide sequence number of each change (a set's is its entry's version).
  readonly #seq: number[] = [];
  #start = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Number of changes held. */
  get size(): number {
    return this.#entry.length;
  }

  /**
   * Records a set (`entry` given) or a delete (`entry` undefined, `previous` given) committed as
   * number `seq` of the store's sequence.
   */
  push(entry: StateEntry | undefined, previous: StateEntry | undefined, seq = 0): void {
    if (this.#entry.length < this.#limit) {
      this.#entry.push(entry);
      this.#previous.push(previous);
      this.#seq.push(seq);
    } else if (this.#limit > 0) {
      const i = this.#start;
      this.#entry[i] = entry;
      this.#previous[i] = previous;
      this.#seq[i] = seq;
      this.#start = i + 1 === this.#limit ? 0 : i + 1;
    }
  }

  /** The last `limit` changes (only those of `key`, when given), oldest first. */
  toArray(key?: string, limit = Infinity): StateChange[] {
    const out: StateChange[] = [];
    if (limit <= 0) return out;
    const n = this.#entry.length;
    // Newest to oldest, so a small limit stops early; reversed at the end.
    for (let i = n - 1; i >= 0 && out.length < limit; i--) {
      const at = (this.#start + i) % n;
      const entry = this.#entry[at];
      const previous = this.#previous[at];
      const k = (entry ?? previous)!.key;
      if (key === undefined || k === key) out.push(makeChange(k, entry, previous));
    }
    return out.reverse();
  }

  /** The changes committed after sequence number `after` whose key passes `keep`, oldest first. */
  since(after: number, keep: (key: string) => boolean): StateChange[] {
    const out: StateChange[] = [];
    const n = this.#entry.length;
    // Newest to oldest until the first change at or before `after`; reversed at the end.
    for (let i = n - 1; i >= 0; i--) {
      const at = (this.#start + i) % n;
      if (this.#seq[at]! <= after) break;
      const entry = this.#entry[at];
      const previous = this.#previous[at];
      const k = (entry ?? previous)!.key;
      if (keep(k)) out.push(makeChange(k, entry, previous));
    }
    return out.reverse();
  }
}

/** A frozen StateChange for a set (`entry` given) or a delete. @internal */
export function makeChange(key: string, entry: StateEntry | undefined, previous: StateEntry | undefined): StateChange {
  if (entry === undefined) return Object.freeze({ type: "delete", key, previous: previous! });
  return Object.freeze(previous === undefined ? { type: "set", key, entry } : { type: "set", key, entry, previous });
}
