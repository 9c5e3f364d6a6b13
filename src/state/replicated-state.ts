import { ValidationError, VersionConflictError } from "../errors.js";
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
   * Picks the entry every replica should hold when they disagree. An entry that a sync of
   * this `ReplicatedState` copied into a store is shown with the timestamp of the entry it
   * copies (the store stamped the copy later), so a copy never outranks a newer write.
   * @default lastWriteWins
   */
  conflictResolver?: (entries: StateEntry[]) => StateEntry;
}

// A replicated write is validated once here; each store then recognises the frozen copy and
// keeps it without another walk. No store's own limit is known, so only JSON-ness is checked.
const NO_SIZE_LIMIT = Number.MAX_SAFE_INTEGER;

const DEFAULT_SYNC_RETRIES = 10;

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
  /** Per key being synced or holding copies: see {@link SyncMarks}. */
  readonly #copies = new Map<string, SyncMarks>();

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
   *
   * Each copy is written only if that store still holds the version read (`expectedVersion`),
   * so a write that lands between the read and the copy is never overwritten: on a version
   * conflict the sync reads again and decides again, up to `maxRetries` times. An
   * acknowledged {@link ReplicatedState.setReplicated} therefore survives any interleaving
   * with syncs of this `ReplicatedState`.
   *
   * @param opts - `maxRetries`: rounds after the first one that met a conflict. @default 10
   * @throws the first error of a store that could not be read or written;
   * `VersionConflictError` when writers kept changing the key through every round
   */
  async syncStores(key: string, opts?: { maxRetries?: number }): Promise<void> {
    checkName(key, "key");
    const maxRetries = opts?.maxRetries ?? DEFAULT_SYNC_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new ValidationError(`maxRetries must be an integer >= 0, got ${describeValue(maxRetries)}`, [
        { path: ["maxRetries"], message: "must be an integer >= 0" },
      ]);
    }
    for (let round = 0; ; round++) {
      const conflict = await this.#syncOnce(key);
      if (conflict === undefined) return;
      if (round >= maxRetries) throw conflict;
    }
  }

  // One read-decide-write round; returns the version conflict that calls for another round.
  async #syncOnce(key: string): Promise<VersionConflictError | undefined> {
    let marks = this.#copies.get(key);
    if (marks === undefined) this.#copies.set(key, (marks = new SyncMarks(this.#stores.length)));
    marks.inFlight++;
    let read: (StateEntry | undefined)[] = [];
    try {
      read = await Promise.all(this.#stores.map((s) => s.get(key)));
      return await this.#decideAndCopy(key, read, marks);
    } finally {
      marks.inFlight--;
      if (marks.inFlight === 0 && marks.prune(read)) this.#copies.delete(key);
    }
  }

  async #decideAndCopy(key: string, current: (StateEntry | undefined)[], marks: SyncMarks): Promise<VersionConflictError | undefined> {
    const stores = this.#stores;
    const present: StateEntry[] = [];
    for (let i = 0; i < current.length; i++) {
      const e = current[i];
      if (e !== undefined) present.push(marks.effective(i, e));
    }
    if (present.length === 0) return undefined;
    const winner = this.#resolve(present);
    const writes: Promise<StateEntry>[] = [];
    for (let i = 0; i < stores.length; i++) {
      const e = current[i];
      if (e !== undefined && e.updatedBy === winner.updatedBy && jsonEquals(e.value, winner.value)) continue;
      const expectedVersion = e?.version ?? 0;
      // Marked before it is sent: another sync may read the copy before this one hears back.
      const copy = marks.expect(i, expectedVersion, winner);
      const write = stores[i]!.set(key, winner.value, { by: winner.updatedBy, expectedVersion });
      write.then(
        (entry) => marks.settle(copy, entry.version),
        () => marks.settle(copy, undefined),
      );
      writes.push(write);
    }
    const results = await Promise.allSettled(writes);
    let conflict: VersionConflictError | undefined;
    let failure: { error: unknown } | undefined;
    for (const r of results) {
      if (r.status === "fulfilled") continue;
      if (r.reason instanceof VersionConflictError) conflict ??= r.reason;
      else failure ??= { error: r.reason };
    }
    if (failure !== undefined) throw failure.error;
    return conflict;
  }
}

/**
 * The copies syncs of one key wrote, per store: copy version -> timestamp of the entry copied.
 *
 * A store stamps a copy with the time of the copy, later than the write it copies. Seen with
 * that stamp, a copy could outrank a newer write that reached the other stores while the sync
 * ran, and the next sync would spread the older value everywhere. So the resolver sees each
 * copy with the timestamp of the entry it copied. A sync that read a store before another
 * sync copied over it still needs the older marks, so marks are only pruned when no sync of
 * the key is running: per store, only the newest copy can still be current, and none once a
 * read saw a later version.
 */
class SyncMarks {
  inFlight = 0;
  readonly #byStore: (Map<number, number> | undefined)[];
  /** Copies sent and not yet answered: recognised by content above the version they expect. */
  readonly #pending = new Set<PendingCopy>();

  constructor(stores: number) {
    this.#byStore = new Array<Map<number, number> | undefined>(stores).fill(undefined);
  }

  effective(store: number, e: StateEntry): StateEntry {
    let timestamp = this.#byStore[store]?.get(e.version);
    if (timestamp === undefined) {
      for (const p of this.#pending) {
        if (p.store === store && e.version > p.expectedVersion && e.updatedBy === p.entry.updatedBy && jsonEquals(e.value, p.entry.value)) {
          timestamp = p.entry.timestamp;
          break;
        }
      }
    }
    if (timestamp === undefined) return e;
    return { key: e.key, value: e.value, version: e.version, timestamp, updatedBy: e.updatedBy, checksum: e.checksum };
  }

  /** A copy of `entry` is about to be written to `store` over `expectedVersion`. */
  expect(store: number, expectedVersion: number, entry: StateEntry): PendingCopy {
    const copy: PendingCopy = { store, expectedVersion, entry };
    this.#pending.add(copy);
    return copy;
  }

  /** The copy's write answered: with the version it got, or `undefined` if it failed. */
  settle(copy: PendingCopy, version: number | undefined): void {
    this.#pending.delete(copy);
    if (version === undefined) return;
    let m = this.#byStore[copy.store];
    if (m === undefined) this.#byStore[copy.store] = m = new Map();
    m.set(version, copy.entry.timestamp);
  }

  /** Drops marks that can no longer be read; true when none is left. */
  prune(lastRead: readonly (StateEntry | undefined)[]): boolean {
    let left = this.#pending.size > 0;
    for (let i = 0; i < this.#byStore.length; i++) {
      const m = this.#byStore[i];
      if (m === undefined) continue;
      let newest = -1;
      for (const v of m.keys()) if (v > newest) newest = v;
      const seen = lastRead[i]?.version ?? 0;
      if (seen > newest) {
        this.#byStore[i] = undefined;
        continue;
      }
      for (const v of [...m.keys()]) if (v !== newest) m.delete(v);
      left = true;
    }
    return !left;
  }
}

interface PendingCopy {
  readonly store: number;
  readonly expectedVersion: number;
  /** The entry copied, with the timestamp the copy stands for. */
  readonly entry: StateEntry;
}
