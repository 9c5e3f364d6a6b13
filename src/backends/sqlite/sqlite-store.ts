import type { Draft } from "immer";
import { ClosedError, ValidationError, VersionConflictError } from "../../errors.js";
import { systemClock, type Clock } from "../../runtime/clock.js";
import { immediateScheduler } from "../../runtime/scheduler.js";
import { checkName } from "../../runtime/wait.js";
import { ChangeFeed, warnListenerError, type ListenerErrorHandler } from "../../state/change-feed.js";
import { StoredEntry } from "../../state/entry.js";
import { HistoryRing, makeChange } from "../../state/history-ring.js";
import { jsonEquals, toStoredValue } from "../../state/json-value.js";
import type { StateChange, StateEntry, StateStore, UpdateOptions, UpdateRecipe, UpdateResult, WatchOptions } from "../../state/types.js";
import {
  checkBy,
  checkCount,
  checkUpdate,
  exhaustedError,
  missingKeyError,
  runRecipe,
  unchanged,
  updateContext,
  UpdatedEntry,
} from "../../state/update-recipe.js";
import { checkExpectedVersion, checkPrefix, checkWatch, matchesFilter } from "./checks.js";
import { openDatabase, type SqlDatabase, type SqliteDriverName } from "./driver.js";
import { Batch, GroupCommit } from "./group-commit.js";
import { loadState, prepareFile, Writer } from "./schema.js";
import { StorageError } from "./storage-error.js";

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * How many changes `history()` keeps, in the file and in memory (0 keeps none). Also bounds
   * what a watch `fromVersion` can replay after a restart.
   * @default 1000
   */
  historyLimit?: number;
  /**
   * Largest value accepted, in UTF-8 bytes of its JSON text.
   * @default 1048576 (1 MiB)
   */
  maxValueBytes?: number;
  /** The source of entry timestamps. @default systemClock */
  clock?: Clock;
  /**
   * Called with what a `watch` listener threw (or its promise rejected with).
   * @default reports it with `process.emitWarning` (a `CoveyListenerWarning`)
   */
  onListenerError?: ListenerErrorHandler;
  /**
   * The SQLite binding. By default `node:sqlite` when the running Node has it (22.13 and later),
   * else `better-sqlite3` (an optional peer dependency: install it on Node 20).
   */
  driver?: SqliteDriverName;
}

/** Counters of a {@link SqliteStore}'s commits. */
export interface SqliteStoreStats {
  /** Transactions committed (each one fsync of the write-ahead log). */
  readonly commits: number;
  /** Changes (sets and deletes) those transactions wrote. */
  readonly changes: number;
}

/**
 * A durable {@link StateStore} in one SQLite file, from {@link sqliteStore}: the same contract as
 * `InMemoryStateStore`, and `close()`.
 */
export interface SqliteStore extends StateStore {
  /** The database file. */
  readonly path: string;
  /** The SQLite binding in use. */
  readonly driver: SqliteDriverName;
  /** How many commits wrote how many changes so far (in this process). */
  readonly stats: SqliteStoreStats;
  /**
   * Writes what is pending, closes the file and ends the store: later operations reject with
   * ClosedError and watchers receive nothing more. Idempotent.
   */
  close(): Promise<void>;
}

const databases = new WeakMap<SqliteStore, SqlDatabase>();

/**
 * The connection of `store`, for tests that check its settings or make its disk fail.
 * @internal
 */
export function databaseOf(store: SqliteStore): SqlDatabase | undefined {
  return databases.get(store);
}

/**
 * The durable store. The whole key space is held in memory, and every operation reads, checks
 * and commits there synchronously, as the in-memory store does (so `update` needs no lock and
 * concurrent writers in this process can never interleave inside one operation). Each commit
 * also queues its change for the file; {@link GroupCommit} writes the queued changes in one
 * transaction per event-loop turn and only then resolves the writers.
 *
 * Nothing is seen before it is durable: `set`, `delete`, `compareAndSwap` and `update` resolve
 * after the commit holding their change is on disk; a read (`get`, `keys`, a refused
 * `expectedVersion`, a failed `compareAndSwap`, a no-op update) of a key with a change in flight
 * waits for that commit; watchers and `history()` only ever see committed changes. So no value
 * or version that a crash could take back is ever handed out, and versions, taken from one
 * store-wide sequence that continues from the file, are never reused across restarts.
 * @internal
 */
class SqliteStateStore implements SqliteStore {
  readonly #path: string;
  readonly #db: SqlDatabase;
  readonly #clock: Clock;
  readonly #maxValueBytes: number;
  readonly #entries: Map<string, StoredEntry>;
  readonly #history: HistoryRing;
  readonly #feed: ChangeFeed;
  readonly #commits: GroupCommit;
  // The batch holding the latest change of each key not yet durable.
  readonly #pending = new Map<string, Batch>();
  #seq: number;
  #closed = false;
  #failure: StorageError | undefined;
  #commitCount = 0;
  #changeCount = 0;

  constructor(path: string, db: SqlDatabase, opts: Required<Pick<SqliteStoreOptions, "historyLimit" | "maxValueBytes">> & SqliteStoreOptions) {
    this.#path = path;
    this.#db = db;
    this.#clock = opts.clock ?? systemClock;
    this.#maxValueBytes = opts.maxValueBytes;
    const loaded = loadState(db, opts.historyLimit);
    this.#entries = loaded.entries;
    this.#seq = loaded.seq;
    this.#history = new HistoryRing(opts.historyLimit);
    for (const c of loaded.changes) this.#history.push(c.entry, c.previous, c.seq);
    this.#feed = new ChangeFeed(immediateScheduler, opts.onListenerError ?? warnListenerError);
    const writer = new Writer(db, opts.historyLimit);
    this.#commits = new GroupCommit(
      (records) => writer.commit(records),
      (batch) => this.#committed(batch),
      (error, batch) => this.#failed(error, batch),
    );
    databases.set(this, db);
  }

  get path(): string {
    return this.#path;
  }

  get driver(): SqliteDriverName {
    return this.#db.driver;
  }

  get stats(): SqliteStoreStats {
    return { commits: this.#commitCount, changes: this.#changeCount };
  }

  /**
   * The entry of `key`, or undefined when absent. If a change of the key is being committed,
   * waits until it is durable.
   */
  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    this.#usable();
    checkName(key, "key");
    const entry = this.#entries.get(key);
    await this.#settled(key);
    return entry as StateEntry<T> | undefined;
  }

  /**
   * The conflict of a write whose `expectedVersion` is not the key's version (0: absent), or
   * undefined. Synchronous, so a write that passes commits in the same turn it was called.
   */
  #conflict(key: string, expected: unknown, prev: { version: number } | undefined): VersionConflictError | undefined {
    if (expected === undefined) return undefined;
    checkExpectedVersion(expected);
    const actual = prev === undefined ? 0 : prev.version;
    return actual === expected ? undefined : new VersionConflictError(key, expected, actual);
  }

  /**
   * Writes `value` under `key`; with `expectedVersion`, only if the key's version is that
   * (0: absent), else VersionConflictError. Resolves once the write is durable.
   */
  async set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    this.#usable();
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const stored = toStoredValue(value, this.#maxValueBytes, key);
    // Read after the walk: a getter on the caller's value may itself have written this key.
    const prev = this.#entries.get(key);
    const conflict = this.#conflict(key, opts?.expectedVersion, prev);
    if (conflict !== undefined) {
      // Refused only once what the caller saw is durable: the version named cannot be taken back.
      await this.#settled(key);
      throw conflict;
    }
    const entry = this.#commit(key, stored, by, prev);
    await this.#pending.get(key)?.done;
    return entry as StateEntry<T>;
  }

  /** Removes `key`; with `expectedVersion`, only if the key's version is that. Resolves once durable. */
  async delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    this.#usable();
    checkName(key, "key");
    checkBy(opts?.by);
    const prev = this.#entries.get(key);
    const conflict = this.#conflict(key, opts?.expectedVersion, prev);
    if (conflict !== undefined) {
      // Refused only once what the caller saw is durable: the version named cannot be taken back.
      await this.#settled(key);
      throw conflict;
    }
    if (prev === undefined) {
      await this.#settled(key);
      return false;
    }
    const batch = this.#record(key, undefined, prev);
    this.#entries.delete(key);
    await batch.done;
    return true;
  }

  /** Writes `newValue` only if the current value deep-equals `expectedValue` (undefined: absent). */
  async compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    this.#usable();
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const stored = toStoredValue(newValue, this.#maxValueBytes, key);
    const prev = this.#entries.get(key);
    if (expectedValue === undefined ? prev !== undefined : prev === undefined || !jsonEquals(prev.value, expectedValue)) {
      await this.#settled(key);
      return false;
    }
    this.#commit(key, stored, by, prev);
    await this.#pending.get(key)?.done;
    return true;
  }

  /**
   * Read-modify-write with the immer recipe `fn`, run on the current value with nothing in
   * between, as in the in-memory store; a conflict can only come from the recipe writing the key
   * itself. Resolves once the write is durable.
   */
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  async update<T, R>(key: string, fn: UpdateRecipe<T, R, never>, opts?: UpdateOptions): Promise<UpdateResult<T, R>> {
    this.#usable();
    checkName(key, "key");
    const { by, maxRetries, exists } = checkUpdate(fn, opts);
    const recipe = fn as unknown as Parameters<typeof runRecipe>[2];
    const entries = this.#entries;
    for (let attempt = 0; ; attempt++) {
      const prev = entries.get(key);
      if (exists && prev === undefined) throw missingKeyError(key);
      const ctx = updateContext(attempt);
      const result = runRecipe(key, prev?.value, recipe, ctx);
      if (unchanged(prev, result)) {
        if (entries.get(key) === prev) {
          await this.#settled(key);
          return new UpdatedEntry(prev as StateEntry<T>, ctx.result as R | undefined, false);
        }
      } else {
        const stored = toStoredValue(result, this.#maxValueBytes, key);
        if (entries.get(key) === prev) {
          const entry = this.#commit(key, stored, by, prev);
          await this.#pending.get(key)?.done;
          return new UpdatedEntry(entry as StateEntry<T>, ctx.result as R | undefined, true);
        }
      }
      if (attempt >= maxRetries) throw exhaustedError(key, prev?.version ?? 0, entries.get(key)?.version ?? 0, attempt + 1);
    }
  }

  /** The keys, sorted, optionally only those starting with `prefix`. */
  async keys(prefix?: string): Promise<string[]> {
    this.#usable();
    checkPrefix(prefix);
    const out: string[] = [];
    for (const key of this.#entries.keys()) if (prefix === undefined || key.startsWith(prefix)) out.push(key);
    out.sort();
    await this.#commits.open?.done;
    return out;
  }

  /**
   * Calls `listener` with every durable change to a key matching `filter`, in commit order,
   * exactly once; `includeCurrent` starts with the current durable values, `fromVersion` with
   * the retained changes after that version (across restarts, within `historyLimit`).
   */
  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void {
    checkName(filter, "filter");
    const { includeCurrent, fromVersion, onReady } = checkWatch(opts);
    if (this.#closed) throw new ClosedError(`SQLite store ${JSON.stringify(this.#path)}`);
    let initial: StateChange[] | undefined;
    if (includeCurrent) initial = this.#durableView(filter);
    else if (fromVersion !== undefined) initial = this.#history.since(fromVersion, (k) => matchesFilter(filter, k));
    return this.#feed.watch(filter, listener as (change: StateChange) => void, initial, onReady);
  }

  /** The most recent durable changes, oldest first (`key`: only its; `limit`: only the last ones). */
  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    this.#usable();
    const key = opts?.key;
    const limit = opts?.limit;
    if (key !== undefined) checkName(key, "key");
    if (limit !== undefined) checkCount(limit, "limit", 0);
    return this.#history.toArray(key, limit);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Pending writers are acknowledged by this last commit (or see its failure).
    if (this.#failure === undefined) this.#commits.flush();
    try {
      this.#db.close();
    } catch {
      // Already closed after a failed commit.
    }
  }

  /** Throws if the store can no longer serve. */
  #usable(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) throw new ClosedError(`SQLite store ${JSON.stringify(this.#path)}`);
  }

  /** Waits until the latest change of `key` is durable, if one is in flight. */
  async #settled(key: string): Promise<void> {
    const batch = this.#pending.get(key);
    if (batch !== undefined) await batch.done;
  }

  #commit(key: string, value: unknown, by: string, prev: StoredEntry | undefined): StoredEntry {
    this.#usable();
    const seq = ++this.#seq;
    const entry = new StoredEntry(key, value, seq, this.#clock.now(), by);
    this.#entries.set(key, entry);
    this.#commits.add({ seq, key, entry, previous: prev });
    this.#pending.set(key, this.#commits.open!);
    return entry;
  }

  /** Queues the deletion of `key` (the caller removes it from memory). */
  #record(key: string, entry: StoredEntry | undefined, prev: StoredEntry | undefined): Batch {
    this.#usable();
    const batch = this.#commits.add({ seq: ++this.#seq, key, entry, previous: prev });
    this.#pending.set(key, batch);
    return batch;
  }

  /** What a watcher starting now sees as the current values: the durable ones, in key order. */
  #durableView(filter: string): StateChange[] {
    // A key with changes in flight is seen as it was before the first of them.
    const before = new Map<string, StoredEntry | undefined>();
    for (const r of this.#commits.open?.records ?? []) if (!before.has(r.key)) before.set(r.key, r.previous);
    const keys = new Set<string>();
    for (const k of this.#entries.keys()) if (matchesFilter(filter, k)) keys.add(k);
    for (const k of before.keys()) if (matchesFilter(filter, k)) keys.add(k);
    const out: StateChange[] = [];
    for (const k of [...keys].sort()) {
      const e = before.has(k) ? before.get(k) : this.#entries.get(k);
      if (e !== undefined) out.push(makeChange(k, e, undefined));
    }
    return out;
  }

  #committed(batch: Batch): void {
    this.#commitCount++;
    this.#changeCount += batch.records.length;
    for (const r of batch.records) {
      if (this.#pending.get(r.key) === batch) this.#pending.delete(r.key);
      this.#history.push(r.entry, r.previous, r.seq);
    }
    if (this.#feed.size > 0) for (const r of batch.records) this.#feed.publish(makeChange(r.key, r.entry, r.previous));
  }

  #failed(error: unknown, batch: Batch): void {
    const failure = new StorageError(
      this.#path,
      "failed to commit and is closed; reopen the file (every acknowledged write is in it)",
      error,
    );
    this.#failure = failure;
    this.#closed = true;
    this.#pending.clear();
    try {
      this.#db.close();
    } catch {
      // Closing is best effort here: the failure is what the writers need to see.
    }
    batch.settle(failure);
  }
}

/**
 * Opens (or creates) a durable state store in the SQLite file at `path`. It passes the same
 * contract as `InMemoryStateStore`, and a write is acknowledged only once it is on disk (WAL,
 * `synchronous = FULL`; writers of the same moment share one commit and one fsync). Reopening
 * the file continues where the last process stopped: entries, versions (never reused),
 * `history()` and watch `fromVersion` within `historyLimit`.
 *
 * The file belongs to one store at a time: a second open, from this process or another, fails
 * with a StorageError until the first is closed (or its process ends).
 *
 * @example
 * ```ts
 * import { createSystem } from "covey";
 * import { sqliteStore } from "covey/sqlite";
 * const store = await sqliteStore("crew.db");
 * const system = createSystem({ store });
 * // ... on the way out:
 * await system.shutdown();
 * await store.close();
 * ```
 * @throws ValidationError when `path` or an option is malformed
 * @throws StorageError when no driver loads, or the file cannot be opened or is in use
 */
export async function sqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
  checkName(path, "path");
  const historyLimit = checkCount(opts.historyLimit ?? 1000, "historyLimit", 0);
  const maxValueBytes = checkCount(opts.maxValueBytes ?? 1024 * 1024, "maxValueBytes", 1);
  const driver = opts.driver;
  if (driver !== undefined && driver !== "node:sqlite" && driver !== "better-sqlite3") {
    throw new ValidationError(`driver must be "node:sqlite" or "better-sqlite3", got ${JSON.stringify(driver)}`, [
      { path: ["driver"], message: "unknown driver" },
    ]);
  }
  const db = await openDatabase(path, driver);
  try {
    prepareFile(db, path);
    return new SqliteStateStore(path, db, { ...opts, historyLimit, maxValueBytes });
  } catch (err) {
    db.close();
    if (err instanceof StorageError) throw err;
    throw new StorageError(path, `cannot be read: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}
