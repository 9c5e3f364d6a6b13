import { Immer, type Draft } from "immer";
import { ValidationError, VersionConflictError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { checkName } from "../runtime/wait.js";
import { ChangeFeed, type ListenerErrorHandler } from "./change-feed.js";
import { StoredEntry } from "./entry.js";
import { HistoryRing, makeChange } from "./history-ring.js";
import { jsonEquals, toStoredValue } from "./json-value.js";
import { KeySpace, prefixLength } from "./key-space.js";
import type { StateChange, StateEntry } from "./types.js";
import { describeValue } from "../runtime/describe.js";

/** Default `updatedBy` of writes that do not say who made them. */
const DEFAULT_BY = "system";

// The store freezes what it keeps in its own walk, so immer's freeze pass would be paid twice.
const immer = new Immer({ autoFreeze: false });
const produce = immer.produce as (base: unknown, recipe: (draft: unknown) => unknown) => unknown;

function checkBy(by: string | undefined): string {
  if (by === undefined) return DEFAULT_BY;
  checkName(by, "by");
  return by;
}

/** Throws a ValidationError unless `value` is an integer >= `min`. @internal */
export function checkCount(value: unknown, what: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ValidationError(`${what} must be an integer >= ${min}, got ${describeValue(value)}`, [
      { path: [what], message: `must be an integer >= ${min}` },
    ]);
  }
  return value;
}

function checkExpected(key: string, current: StateEntry | undefined, expected: number): void {
  if (typeof expected !== "number" || Number.isNaN(expected)) {
    throw new ValidationError(`expectedVersion must be a number, got ${describeValue(expected)}`, [
      { path: ["expectedVersion"], message: "must be a number" },
    ]);
  }
  const actual = current === undefined ? 0 : current.version;
  if (actual !== expected) throw new VersionConflictError(key, expected, actual);
}

function checkPrefix(prefix: string | undefined): void {
  if (prefix !== undefined && typeof prefix !== "string") {
    throw new ValidationError("prefix must be a string", [{ path: ["prefix"], message: "must be a string" }]);
  }
}

function isThenable(value: unknown): boolean {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
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
  // Highest version issued, and whether any key was ever deleted: after the first delete a new
  // key starts above every version issued so far, so a re-created key can never get a version
  // it had before, and deleted keys need not be remembered.
  #maxVersion = 0;
  #deletedAny = false;

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
    return this.setIn(space, this.#local(space, key), value, opts);
  }

  delete(key: string, opts: { by?: string; expectedVersion?: number } | undefined): boolean {
    checkName(key, "key");
    const space = this.#locate(key);
    return this.deleteIn(space, this.#local(space, key), opts);
  }

  compareAndSwap(key: string, expectedValue: unknown, newValue: unknown, opts: { by?: string } | undefined): boolean {
    checkName(key, "key");
    const space = this.#locate(key);
    return this.compareAndSwapIn(space, this.#local(space, key), expectedValue, newValue, opts);
  }

  update<T>(
    key: string,
    fn: (draft: Draft<T> | undefined) => T | void,
    opts: { by?: string; maxRetries?: number } | undefined,
  ): StoredEntry {
    checkName(key, "key");
    const space = this.#locate(key);
    return this.updateIn(space, this.#local(space, key), fn, opts);
  }

  // The *In methods take a key space and a key within it (already checked to be a name); the
  // full store key, `space.prefix + key`, is only built for what records it.

  setIn(space: KeySpace, key: string, value: unknown, opts: { by?: string; expectedVersion?: number } | undefined): StoredEntry {
    const by = checkBy(opts?.by);
    const stored = toStoredValue(value, this.#maxValueBytes, key, space.prefix);
    // Read after the walk: a getter on the caller's value may itself have written this key.
    const prev = space.entries.get(key);
    const expected = opts?.expectedVersion;
    if (expected !== undefined) checkExpected(space.prefix + key, prev, expected);
    return this.#commit(space, key, stored, by, prev);
  }

  deleteIn(space: KeySpace, key: string, opts: { by?: string; expectedVersion?: number } | undefined): boolean {
    const by = checkBy(opts?.by);
    const prev = space.entries.get(key);
    const expected = opts?.expectedVersion;
    if (expected !== undefined) checkExpected(space.prefix + key, prev, expected);
    if (prev === undefined) return false;
    space.entries.delete(key);
    this.#deletedAny = true;
    this.#history.push(undefined, prev);
    if (this.#feed.size > 0) this.#feed.publish(makeChange(prev.key, undefined, prev));
    const tracer = this.#runtime.tracer;
    if (tracer !== undefined) tracer.record("state", by, undefined, prev.key, undefined, { type: "delete" });
    return true;
  }

  compareAndSwapIn(space: KeySpace, key: string, expectedValue: unknown, newValue: unknown, opts: { by?: string } | undefined): boolean {
    const by = checkBy(opts?.by);
    const stored = toStoredValue(newValue, this.#maxValueBytes, key, space.prefix);
    const prev = space.entries.get(key);
    if (expectedValue === undefined ? prev !== undefined : prev === undefined || !jsonEquals(prev.value, expectedValue)) {
      return false;
    }
    this.#commit(space, key, stored, by, prev);
    return true;
  }

  updateIn<T>(
    space: KeySpace,
    key: string,
    fn: (draft: Draft<T> | undefined) => T | void,
    opts: { by?: string; maxRetries?: number } | undefined,
  ): StoredEntry {
    const by = checkBy(opts?.by);
    const maxRetries = opts?.maxRetries === undefined ? 10 : checkCount(opts.maxRetries, "maxRetries", 0);
    if (typeof fn !== "function") {
      throw new ValidationError("update recipe must be a function", [{ path: ["fn"], message: "must be a function" }]);
    }
    const entries = space.entries;
    for (let attempt = 0; ; attempt++) {
      const prev = entries.get(key);
      const result = produce(prev?.value, fn as (draft: unknown) => unknown);
      if (result === undefined) {
        throw new ValidationError(`update of key ${JSON.stringify(space.prefix + key)} produced undefined; nothing was written`, [
          { path: [], message: "the recipe left the value undefined" },
        ]);
      }
      if (isThenable(result)) {
        throw new ValidationError(
          `update recipe for key ${JSON.stringify(space.prefix + key)} returned a promise; recipes must be synchronous`,
          [{ path: [], message: "the recipe returned a promise" }],
        );
      }
      // Only the nodes the recipe created are walked: the ones it kept from the stored value
      // carry a size stamp.
      const stored = toStoredValue(result, this.#maxValueBytes, key, space.prefix);
      // Nothing else runs between the read and here, so the only way the key changed is the
      // recipe (or a getter in its result) writing it.
      const now = entries.get(key);
      if (now === prev) return this.#commit(space, key, stored, by, prev);
      if (attempt >= maxRetries) throw new VersionConflictError(space.prefix + key, prev?.version ?? 0, now?.version ?? 0);
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

  watch(filter: string, listener: (change: StateChange) => void): () => void {
    return this.#feed.watch(filter, listener);
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
    const version = prev !== undefined ? prev.version + 1 : this.#deletedAny ? this.#maxVersion + 1 : 1;
    if (version > this.#maxVersion) this.#maxVersion = version;
    // The entry records the full store key; the namespace's key is what the map is keyed by.
    const fullKey = prev !== undefined ? prev.key : space.prefix + key;
    const entry = new StoredEntry(fullKey, value, version, this.#runtime.clock.now(), by);
    space.entries.set(key, entry);
    this.#history.push(entry, prev);
    if (this.#feed.size > 0) this.#feed.publish(makeChange(fullKey, entry, prev));
    const tracer = this.#runtime.tracer;
    if (tracer !== undefined) {
      tracer.record("state", by, undefined, fullKey, undefined, tracer.payloads ? { type: "set", version, value } : { type: "set", version });
    }
    return entry;
  }
}
