import { ValidationError, VersionConflictError } from "../errors.js";
import { checkWatch, matchesFilter } from "./watch-options.js";
import type { Runtime } from "../runtime/runtime.js";
import { checkName } from "../runtime/wait.js";
import { ChangeFeed, type ListenerErrorHandler } from "./change-feed.js";
import { StoredEntry } from "./entry.js";
import { HistoryRing, makeChange } from "./history-ring.js";
import { jsonEquals, toStoredValue } from "./json-value.js";
import { KeySpace, prefixLength } from "./key-space.js";
import type { StateChange, StateEntry, UpdateContext, UpdateOptions, WatchOptions } from "./types.js";
import { describeValue } from "../runtime/describe.js";
import { checkBy, checkCount, checkUpdate, exhaustedError, missingKeyError, runRecipe, unchanged, updateContext, UpdatedEntry } from "./update-recipe.js";

export { checkCount };

/** A recipe as the core runs it (typed by the public methods). @internal */
export type CoreRecipe = (draft: never, ctx: UpdateContext<unknown>) => unknown;

function checkExpected(label: string, current: StateEntry | undefined, expected: number): void {
  if (typeof expected !== "number" || Number.isNaN(expected)) {
    throw new ValidationError(`expectedVersion must be a number, got ${describeValue(expected)}`, [
      { path: ["expectedVersion"], message: "must be a number" },
    ]);
  }
  const actual = current === undefined ? 0 : current.version;
  if (actual !== expected) throw new VersionConflictError(label, expected, actual);
}

function checkPrefix(prefix: string | undefined): void {
  if (prefix !== undefined && typeof prefix !== "string") {
    throw new ValidationError("prefix must be a string", [{ path: ["prefix"], message: "must be a string" }]);
  }
}


/**
 * The synchronous heart of {@link InMemoryStateStore}: every operation reads, checks and
 * commits without yielding, which is what makes it atomic in-process without a lock. Methods
 * throw synchronously; the store's async methods turn that into rejections. Namespace views of
 * an in-memory store call it directly, saving one async hop per operation.
 * @internal
 */
export class StoreCore {
  readonly #runtime: Runtime;
  // Keys outside every registered namespace, by full store key.
  readonly #root = new KeySpace("");
  // Registered namespaces by prefix; each holds its keys without the prefix.
  readonly #spaces = new Map<string, KeySpace>();
  readonly #history: HistoryRing;
  readonly #feed: ChangeFeed;
  readonly #maxValueBytes: number;
  // One sequence for the whole store: every commit (set or delete) takes the next number, and a
  // set's number is its version. Versions are then per key strictly increasing and never reused
  // (also across delete and re-create, without remembering deleted keys), and "the changes after
  // version v" is one well-defined stretch of the store's commit order, as in a NATS KV bucket.
  #seq = 0;

  constructor(runtime: Runtime, historyLimit: number, maxValueBytes: number, onListenerError: ListenerErrorHandler) {
    this.#runtime = runtime;
    this.#history = new HistoryRing(checkCount(historyLimit, "historyLimit", 0));
    this.#maxValueBytes = checkCount(maxValueBytes, "maxValueBytes", 1);
    this.#feed = new ChangeFeed(runtime.scheduler, onListenerError);
  }

  get size(): number {
    let n = this.#root.entries.size;
    for (const space of this.#spaces.values()) n += space.entries.size;
    return n;
  }

  /**
   * The key space of the namespace whose store keys start with `prefix`, registered on first
   * call: keys already stored under the prefix move into it, and from then on every full key
   * under the prefix is found there.
   */
  space(prefix: string): KeySpace {
    let space = this.#spaces.get(prefix);
    if (space !== undefined) return space;
    space = new KeySpace(prefix);
    this.#spaces.set(prefix, space);
    const root = this.#root.entries;
    for (const [key, entry] of root) {
      if (key.length > prefix.length && key.startsWith(prefix)) {
        space.entries.set(key.slice(prefix.length), entry);
        root.delete(key);
      }
    }
    return space;
  }

  get(key: string): StoredEntry | undefined {
    checkName(key, "key");
    const space = this.#locate(key);
    return space.entries.get(this.#local(space, key));
  }

  set(key: string, value: unknown, opts: { by?: string; expectedVersion?: number } | undefined): StoredEntry {
    checkName(key, "key");
    const space = this.#locate(key);
    return this.setIn(space, this.#local(space, key), value, opts, key);
  }

  delete(key: string, opts: { by?: string; expectedVersion?: number } | undefined): boolean {
    checkName(key, "key");
    const space = this.#locate(key);
    return this.deleteIn(space, this.#local(space, key), opts, key);
  }

  compareAndSwap(key: string, expectedValue: unknown, newValue: unknown, opts: { by?: string } | undefined): boolean {
    checkName(key, "key");
    const space = this.#locate(key);
    return this.compareAndSwapIn(space, this.#local(space, key), expectedValue, newValue, opts, key);
  }

  update(key: string, fn: CoreRecipe, opts: UpdateOptions | undefined): UpdatedEntry {
    checkName(key, "key");
    const space = this.#locate(key);
    return this.updateIn(space, this.#local(space, key), fn, opts, key, false);
  }

  // The *In methods take a key space and a key within it (already checked to be a name), and
  // `label`, the key as the caller wrote it, which errors name; the full store key,
  // `space.prefix + key`, is only built for what records it.

  setIn(space: KeySpace, key: string, value: unknown, opts: { by?: string; expectedVersion?: number } | undefined, label: string): StoredEntry {
    const by = checkBy(opts?.by);
    const stored = toStoredValue(value, this.#maxValueBytes, label);
    // Read after the walk: a getter on the caller's value may itself have written this key.
    const prev = space.entries.get(key);
    const expected = opts?.expectedVersion;
    if (expected !== undefined) checkExpected(label, prev, expected);
    return this.#commit(space, key, stored, by, prev);
  }

  deleteIn(space: KeySpace, key: string, opts: { by?: string; expectedVersion?: number } | undefined, label: string): boolean {
    const by = checkBy(opts?.by);
    const prev = space.entries.get(key);
    const expected = opts?.expectedVersion;
    if (expected !== undefined) checkExpected(label, prev, expected);
    if (prev === undefined) return false;
    space.entries.delete(key);
    this.#history.push(undefined, prev, ++this.#seq);
    if (this.#feed.size > 0) this.#feed.publish(makeChange(prev.key, undefined, prev));
    const tracer = this.#runtime.tracer;
    if (tracer !== undefined) tracer.record("state", by, undefined, prev.key, undefined, { type: "delete" });
    return true;
  }

  compareAndSwapIn(space: KeySpace, key: string, expectedValue: unknown, newValue: unknown, opts: { by?: string } | undefined, label: string): boolean {
    const by = checkBy(opts?.by);
    const stored = toStoredValue(newValue, this.#maxValueBytes, label);
    const prev = space.entries.get(key);
    if (expectedValue === undefined ? prev !== undefined : prev === undefined || !jsonEquals(prev.value, expectedValue)) {
      return false;
    }
    this.#commit(space, key, stored, by, prev);
    return true;
  }

  /**
   * `update` in `space`: the recipe runs on the current value with a fresh context per attempt;
   * a result equal to the current value writes nothing. `scoped`: the returned entry carries the
   * namespace's key (for a view) rather than the full store key.
   */
  updateIn(space: KeySpace, key: string, fn: CoreRecipe, opts: UpdateOptions | undefined, label: string, scoped: boolean): UpdatedEntry {
    const { by, maxRetries, exists } = checkUpdate(fn, opts);
    const entries = space.entries;
    for (let attempt = 0; ; attempt++) {
      const prev = entries.get(key);
      if (exists && prev === undefined) throw missingKeyError(label);
      const ctx = updateContext(attempt);
      const result = runRecipe(label, prev?.value, fn, ctx);
      if (unchanged(prev, result)) {
        // Nothing to write, but only if the recipe did not write the key itself meanwhile.
        if (entries.get(key) === prev) return new UpdatedEntry(scoped ? prev!.scoped(key) : prev!, ctx.result, false);
      } else {
        // Only the nodes the recipe created are walked: the ones it kept from the stored value
        // carry a size stamp.
        const stored = toStoredValue(result, this.#maxValueBytes, label);
        // Nothing else runs between the read and here, so the only way the key changed is the
        // recipe (or a getter in its result) writing it.
        if (entries.get(key) === prev) {
          const entry = this.#commit(space, key, stored, by, prev);
          return new UpdatedEntry(scoped ? entry.scoped(key) : entry, ctx.result, true);
        }
      }
      if (attempt >= maxRetries) throw exhaustedError(label, prev?.version ?? 0, entries.get(key)?.version ?? 0, attempt + 1);
    }
  }

  keys(prefix: string | undefined): string[] {
    checkPrefix(prefix);
    const out: string[] = [];
    for (const key of this.#root.entries.keys()) {
      if (prefix === undefined || key.startsWith(prefix)) out.push(key);
    }
    for (const space of this.#spaces.values()) {
      const p = space.prefix;
      if (prefix === undefined || p.startsWith(prefix)) {
        for (const key of space.entries.keys()) out.push(p + key);
      } else if (prefix.startsWith(p)) {
        const rest = prefix.slice(p.length);
        for (const key of space.entries.keys()) if (key.startsWith(rest)) out.push(p + key);
      }
    }
    return out.sort();
  }

  /** The keys of `space` (without its prefix) that start with `prefix`, sorted. */
  keysIn(space: KeySpace, prefix: string | undefined): string[] {
    checkPrefix(prefix);
    const out: string[] = [];
    for (const key of space.entries.keys()) {
      if (prefix === undefined || key.startsWith(prefix)) out.push(key);
    }
    return out.sort();
  }

  /**
   * Registers a watcher; with `includeCurrent` or `fromVersion` its initial changes are read and
   * queued in the same synchronous step, so no commit falls between them and the live ones.
   */
  watch(filter: string, listener: (change: StateChange) => void, opts: WatchOptions | undefined): () => void {
    checkName(filter, "filter");
    const { includeCurrent, fromVersion, onReady } = checkWatch(opts);
    let initial: StateChange[] | undefined;
    if (includeCurrent) {
      initial = [];
      if (filter.endsWith("*")) {
        for (const k of this.keys(filter.slice(0, -1))) initial.push(makeChange(k, this.get(k), undefined));
      } else {
        const entry = this.get(filter);
        if (entry !== undefined) initial.push(makeChange(filter, entry, undefined));
      }
    } else if (fromVersion !== undefined) {
      initial = this.#history.since(fromVersion, (k) => matchesFilter(filter, k));
    }
    return this.#feed.watch(filter, listener, initial, onReady);
  }

  history(opts: { key?: string; limit?: number } | undefined): StateChange[] {
    const key = opts?.key;
    const limit = opts?.limit;
    if (key !== undefined) checkName(key, "key");
    if (limit !== undefined) checkCount(limit, "limit", 0);
    return this.#history.toArray(key, limit);
  }

  /** The space holding full store key `key`: its registered namespace's, else the root. */
  #locate(key: string): KeySpace {
    if (this.#spaces.size === 0) return this.#root;
    const n = prefixLength(key);
    return n === 0 ? this.#root : (this.#spaces.get(key.slice(0, n)) ?? this.#root);
  }

  /** `key` as the key `space` holds it under. */
  #local(space: KeySpace, key: string): string {
    return space === this.#root ? key : key.slice(space.prefix.length);
  }

  #commit(space: KeySpace, key: string, value: unknown, by: string, prev: StoredEntry | undefined): StoredEntry {
    const version = ++this.#seq;
    // The entry records the full store key; the namespace's key is what the map is keyed by.
    const fullKey = prev !== undefined ? prev.key : space.prefix + key;
    const entry = new StoredEntry(fullKey, value, version, this.#runtime.clock.now(), by);
    space.entries.set(key, entry);
    this.#history.push(entry, prev, version);
    if (this.#feed.size > 0) this.#feed.publish(makeChange(fullKey, entry, prev));
    const tracer = this.#runtime.tracer;
    if (tracer !== undefined) {
      tracer.record("state", by, undefined, fullKey, undefined, tracer.payloads ? { type: "set", version, value } : { type: "set", version });
    }
    return entry;
  }
}
