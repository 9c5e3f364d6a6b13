import { ValidationError } from "../errors.js";
import { checkName } from "../runtime/wait.js";
import { jsonEquals, toStoredValue } from "./json-value.js";
import { lastWriteWins } from "./last-write-wins.js";
import type { StateEntry, StateStore } from "./types.js";
import { describeValue } from "../runtime/describe.js";

/** Options of {@link ReplicatedState}. */
export interface ReplicatedStateOptions {
  /** The replicas by name; reads try them in this record's order. */
  stores: Record<string, StateStore>;
  /**
   * Picks the entry every replica should hold when they disagree.
   * @default lastWriteWins
   */
  conflictResolver?: (entries: StateEntry[]) => StateEntry;
}

// A replicated write is validated once here; each store then recognises the frozen copy and
// keeps it without another walk. No store's own limit is known, so only JSON-ness is checked.
const NO_SIZE_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * One logical key-value space kept in several stores: writes go to every replica and succeed
 * with a quorum, reads take the first replica that has the key, and `syncStores` makes every
 * replica agree on one entry chosen by the conflict resolver.
 *
 * @example
 * ```ts
 * const replicated = new ReplicatedState({ stores: { a: new InMemoryStateStore(), b: new InMemoryStateStore() } });
 * await replicated.setReplicated("leader", "agent-1", "election", 2); // true: both took it
 * await replicated.get<string>("leader");                             // "agent-1"
 * ```
 */
export class ReplicatedState {
  readonly #stores: StateStore[];
  readonly #resolve: (entries: StateEntry[]) => StateEntry;

  constructor(opts: ReplicatedStateOptions) {
    const stores = Object.values(opts?.stores ?? {});
    if (stores.length === 0) {
      throw new ValidationError("ReplicatedState needs at least one store", [{ path: ["stores"], message: "no stores" }]);
    }
    this.#stores = stores;
    this.#resolve = opts.conflictResolver ?? lastWriteWins;
  }

  /**
   * The value of `key` in the first store (in the record's order) that has it. A store that
   * fails is skipped; if every store fails, the first failure is thrown.
   */
  async get<T>(key: string): Promise<T | undefined> {
    checkName(key, "key");
    let failures = 0;
    let firstError: unknown;
    for (const store of this.#stores) {
      try {
        const entry = await store.get<T>(key);
        if (entry !== undefined) return entry.value;
      } catch (err) {
        if (failures++ === 0) firstError = err;
      }
    }
    if (failures === this.#stores.length) throw firstError;
    return undefined;
  }

  /**
   * Writes `value` to every store at once, recording `by` as `updatedBy`.
   * @returns true when at least `quorum` stores took the write (a store whose write throws
   * counts as failed)
   * @default quorum 1
   * @throws ValidationError before any store is written, when `value` is not JSON data or
   * `quorum` is not an integer >= 1
   */
  async setReplicated<T>(key: string, value: T, by: string, quorum = 1): Promise<boolean> {
    checkName(key, "key");
    checkName(by, "by");
    if (!Number.isInteger(quorum) || quorum < 1) {
      throw new ValidationError(`quorum must be an integer >= 1, got ${describeValue(quorum)}`, [
        { path: ["quorum"], message: "must be an integer >= 1" },
      ]);
    }
    const frozen = toStoredValue(value, NO_SIZE_LIMIT, key);
    const results = await Promise.allSettled(this.#stores.map((s) => s.set(key, frozen, { by })));
    let ok = 0;
    for (const r of results) if (r.status === "fulfilled") ok++;
    return ok >= quorum;
  }

  /**
   * Makes every store hold the entry the conflict resolver picks among the stores' current
   * entries of `key` (same value and `updatedBy`); stores that already agree are not written.
   * Does nothing when no store has the key.
   * @throws the first error of a store that could not be read or written
   */
  async syncStores(key: string): Promise<void> {
    checkName(key, "key");
    const current = await Promise.all(this.#stores.map((s) => s.get(key)));
    const present = current.filter((e): e is StateEntry => e !== undefined);
    if (present.length === 0) return;
    const winner = this.#resolve(present);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < this.#stores.length; i++) {
      const e = current[i];
      if (e !== undefined && e.updatedBy === winner.updatedBy && jsonEquals(e.value, winner.value)) continue;
      writes.push(this.#stores[i]!.set(key, winner.value, { by: winner.updatedBy }));
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) if (r.status === "rejected") throw r.reason;
  }
}
