import { Immer, type Draft } from "immer";
import { ValidationError, VersionConflictError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { checkName } from "../runtime/wait.js";
import { ChangeFeed, type ListenerErrorHandler } from "./change-feed.js";
import { StoredEntry } from "./entry.js";
import { HistoryRing, makeChange } from "./history-ring.js";
import { jsonEquals, toStoredValue } from "./json-value.js";
import type { StateChange, StateEntry } from "./types.js";
import { describeValue } from "./describe-value.js";

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
  readonly #entries = new Map<string, StoredEntry>();
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
    return this.#entries.size;
  }

  get(key: string): StoredEntry | undefined {
    checkName(key, "key");
    return this.#entries.get(key);
  }

  set(key: string, value: unknown, opts: { by?: string; expectedVersion?: number } | undefined): StoredEntry {
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const stored = toStoredValue(value, this.#maxValueBytes, key);
    // Read after the walk: a getter on the caller's value may itself have written this key.
    const prev = this.#entries.get(key);
    const expected = opts?.expectedVersion;
    if (expected !== undefined) checkExpected(key, prev, expected);
    return this.#commit(key, stored, by, prev);
  }

  delete(key: string, opts: { by?: string; expectedVersion?: number } | undefined): boolean {
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const prev = this.#entries.get(key);
    const expected = opts?.expectedVersion;
    if (expected !== undefined) checkExpected(key, prev, expected);
    if (prev === undefined) return false;
    this.#entries.delete(key);
    this.#deletedAny = true;
    this.#history.push(undefined, prev);
    if (this.#feed.size > 0) this.#feed.publish(makeChange(key, undefined, prev));
    const tracer = this.#runtime.tracer;
    if (tracer !== undefined) tracer.record("state", by, undefined, key, undefined, { type: "delete" });
    return true;
  }

  compareAndSwap(key: string, expectedValue: unknown, newValue: unknown, opts: { by?: string } | undefined): boolean {
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const stored = toStoredValue(newValue, this.#maxValueBytes, key);
    const prev = this.#entries.get(key);
    if (expectedValue === undefined ? prev !== undefined : prev === undefined || !jsonEquals(prev.value, expectedValue)) {
      return false;
    }
    this.#commit(key, stored, by, prev);
    return true;
  }

  update<T>(
    key: string,
    fn: (draft: Draft<T> | undefined) => T | void,
    opts: { by?: string; maxRetries?: number } | undefined,
  ): StoredEntry {
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const maxRetries = opts?.maxRetries === undefined ? 10 : checkCount(opts.maxRetries, "maxRetries", 0);
    if (typeof fn !== "function") {
      throw new ValidationError("update recipe must be a function", [{ path: ["fn"], message: "must be a function" }]);
    }
    for (let attempt = 0; ; attempt++) {
      const prev = this.#entries.get(key);
      const result = produce(prev?.value, fn as (draft: unknown) => unknown);
      if (result === undefined) {
        throw new ValidationError(`update of key ${JSON.stringify(key)} produced undefined; nothing was written`, [
          { path: [], message: "the recipe left the value undefined" },
        ]);
      }
      if (isThenable(result)) {
        throw new ValidationError(`update recipe for key ${JSON.stringify(key)} returned a promise; recipes must be synchronous`, [
          { path: [], message: "the recipe returned a promise" },
        ]);
      }
      // Only the nodes the recipe created are walked: the ones it kept from the stored value
      // carry a size stamp.
      const stored = toStoredValue(result, this.#maxValueBytes, key);
      // Nothing else runs between the read and here, so the only way the key changed is the
      // recipe (or a getter in its result) writing it.
      const now = this.#entries.get(key);
      if (now === prev) return this.#commit(key, stored, by, prev);
      if (attempt >= maxRetries) throw new VersionConflictError(key, prev?.version ?? 0, now?.version ?? 0);
    }
  }

  keys(prefix: string | undefined): string[] {
    if (prefix !== undefined && typeof prefix !== "string") {
      throw new ValidationError("prefix must be a string", [{ path: ["prefix"], message: "must be a string" }]);
    }
    const out: string[] = [];
    for (const key of this.#entries.keys()) {
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

  #commit(key: string, value: unknown, by: string, prev: StoredEntry | undefined): StoredEntry {
    const version = prev !== undefined ? prev.version + 1 : this.#deletedAny ? this.#maxVersion + 1 : 1;
    if (version > this.#maxVersion) this.#maxVersion = version;
    const entry = new StoredEntry(key, value, version, this.#runtime.clock.now(), by);
    this.#entries.set(key, entry);
    this.#history.push(entry, prev);
    if (this.#feed.size > 0) this.#feed.publish(makeChange(key, entry, prev));
    const tracer = this.#runtime.tracer;
    if (tracer !== undefined) {
      tracer.record("state", by, undefined, key, undefined, tracer.payloads ? { type: "set", version, value } : { type: "set", version });
    }
    return entry;
  }
}
