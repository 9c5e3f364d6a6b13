import type { Draft } from "immer";
import { resolveRuntime, type RuntimeOptions } from "../runtime/runtime.js";
import { warnListenerError, type ListenerErrorHandler } from "./change-feed.js";
import { StoreCore, type CoreRecipe } from "./store-core.js";
import type { StateChange, StateEntry, StateStore, UpdateOptions, UpdateRecipe, UpdateResult, WatchOptions } from "./types.js";

/** Options of {@link InMemoryStateStore}. */
export interface InMemoryStateStoreOptions extends RuntimeOptions {
  /**
   * How many changes `history()` keeps (0 keeps none).
   * @default 1000
   */
  historyLimit?: number;
  /**
   * Largest value accepted, in UTF-8 bytes of its JSON text.
   * @default 1048576 (1 MiB)
   */
  maxValueBytes?: number;
  /**
   * Called with what a `watch` listener threw (or its returned promise rejected with).
   * The store and the other listeners carry on either way.
   * @default reports it with `process.emitWarning` (a `CoveyListenerWarning`)
   */
  onListenerError?: ListenerErrorHandler;
}

const cores = new WeakMap<StateStore, StoreCore>();

/**
 * The synchronous core of `store` when it is an {@link InMemoryStateStore}, so a namespace
 * view can skip one async hop; undefined for any other backend, which is used through its
 * public API.
 * @internal
 */
export function storeCore(store: StateStore): StoreCore | undefined {
  return cores.get(store);
}

/**
 * A versioned key-value store in memory, with optimistic locking, atomic compare-and-swap,
 * immer-based `update` with automatic retry, prefix watches and a bounded change history.
 *
 * Every operation checks and commits synchronously inside its async method (there is no
 * `await` between reading the current entry and writing the new one), so operations are atomic
 * within the process without any lock. Values are validated as JSON data, copied and deeply
 * frozen in one walk; the caller's object is never kept. Versions strictly increase per key and
 * are never reused, also after a delete and re-create.
 *
 * @example
 * ```ts
 * const store = new InMemoryStateStore();
 * await store.set("plan", { steps: [] }, { by: "planner" });
 * await store.update<{ steps: string[] }>("plan", (d) => { d!.steps.push("research"); });
 * const entry = await store.get<{ steps: string[] }>("plan"); // version 2
 * ```
 */
export class InMemoryStateStore implements StateStore {
  readonly #core: StoreCore;

  constructor(opts: InMemoryStateStoreOptions = {}) {
    this.#core = new StoreCore(
      resolveRuntime(opts),
      opts.historyLimit ?? 1000,
      opts.maxValueBytes ?? 1024 * 1024,
      opts.onListenerError ?? warnListenerError,
    );
    cores.set(this, this.#core);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#core.size;
  }

  /**
   * The entry of `key`, or undefined when absent.
   * @example
   * ```ts
   * const entry = await store.get<number>("count"); // entry?.value, entry?.version
   * ```
   */
  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    return this.#core.get(key) as StateEntry<T> | undefined;
  }

  /**
   * Writes `value` (a frozen copy of it) under `key`.
   * `expectedVersion` makes the write conditional: the key's current version must equal it,
   * 0 meaning "the key must not exist"; otherwise the write is refused with a
   * VersionConflictError. Unlike {@link compareAndSwap}, the condition is on the version, not
   * on the value.
   * @returns the new entry
   * @throws ValidationError when `value` is not JSON data or exceeds `maxValueBytes`
   * @throws VersionConflictError when `expectedVersion` does not match
   * @example
   * ```ts
   * const e = await store.set("config", { retries: 3 }, { by: "admin" });
   * await store.set("config", { retries: 5 }, { expectedVersion: e.version });
   * ```
   */
  async set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    return this.#core.set(key, value, opts) as StateEntry<T>;
  }

  /**
   * Removes `key`. With `expectedVersion`, only if the key's version equals it (0: the key
   * must not exist).
   * @returns true if the key existed
   * @throws VersionConflictError when `expectedVersion` does not match
   */
  async delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    return this.#core.delete(key, opts);
  }

  /**
   * Writes `newValue` only if the key's current value deep-equals `expectedValue`
   * (`undefined`: only if the key is absent). Atomic and lock-free; unlike `set` with
   * `expectedVersion`, the condition is on the value.
   * @returns true if it wrote
   * @throws ValidationError when `newValue` is not JSON data
   * @example
   * ```ts
   * const claimed = await store.compareAndSwap("task:1:owner", undefined, "worker-a");
   * ```
   */
  async compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    return this.#core.compareAndSwap(key, expectedValue, newValue, opts);
  }

  /**
   * Read-modify-write: runs the immer recipe `fn` on the current value (a draft, or
   * `undefined` when the key is absent) and stores the result if the key did not change in the
   * meantime; otherwise runs `fn` again on the new value, up to `maxRetries` more times. A
   * conflict can only come from `fn` itself writing the key, since nothing else runs between
   * the read and the commit. `fn` must be synchronous.
   *
   * The recipe's second argument is a fresh {@link UpdateContext} per attempt: what it sets as
   * `ctx.result` comes back as `result`, with no closure variable to reset on a retry. A result
   * equal to the current value writes nothing: no new version, no watch notification, and
   * `changed` is false. With `exists: true` the draft is typed without `| undefined` and an
   * absent key rejects with a ValidationError.
   * @returns the entry after the update, with `result` and `changed`
   * @default maxRetries 10
   * @throws ValidationError when the result is undefined (nothing is written) or not JSON data
   * @throws VersionConflictError the last conflict, once the retries are exhausted
   * @example
   * ```ts
   * await store.update<{ n: number }>("counter", (d) => (d === undefined ? { n: 1 } : void d.n++));
   * // Claim one task and learn which:
   * const { result: id } = await store.update<Task[], string>("tasks", (tasks, out) => {
   *   const t = tasks.find((t) => !t.owner); if (t) { t.owner = "me"; out.result = t.id; } }, { exists: true });
   * ```
   */
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  async update<T, R>(key: string, fn: UpdateRecipe<T, R, never>, opts?: UpdateOptions): Promise<UpdateResult<T, R>> {
    return this.#core.update(key, fn as unknown as CoreRecipe, opts) as UpdateResult<T, R>;
  }

  /**
   * The keys, sorted, optionally only those starting with `prefix`.
   * @example
   * ```ts
   * await store.keys("task:"); // ["task:1", "task:2"]
   * ```
   */
  async keys(prefix?: string): Promise<string[]> {
    return this.#core.keys(prefix);
  }

  /**
   * Calls `listener` with every change committed from now on to a key matching `filter`: an
   * exact key, a prefix ending in `*` (`"task:*"`), or `"*"` for every key. Each change reaches
   * each listener exactly once, in commit order; a change a listener makes is delivered after
   * the current one has reached every listener. A throwing listener is reported through
   * `onListenerError` and does not affect the store or the other listeners.
   *
   * `includeCurrent` delivers the current values first (one `set` per matching key, in key
   * order); `fromVersion` replays the retained changes (see `historyLimit`) committed after the
   * change that produced that version; `onReady` marks the end of that initial part, also when
   * it was empty. Nothing is lost or repeated between the initial part and the live changes.
   * @returns an idempotent unsubscribe function
   * @example
   * ```ts
   * const stop = store.watch("task:*", (c) => console.log(c.type, c.key, c.entry?.value), {
   *   includeCurrent: true,
   *   onReady: () => console.log("caught up"),
   * });
   * stop();
   * ```
   */
  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void {
    return this.#core.watch(filter, listener as (change: StateChange) => void, opts);
  }

  /**
   * The most recent changes (at most `historyLimit` are kept), oldest first; `key` keeps only
   * that key's changes, `limit` only the last `limit` of them.
   */
  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    return this.#core.history(opts);
  }
}
