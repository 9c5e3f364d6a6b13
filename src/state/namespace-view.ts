import type { Draft } from "immer";
import { CoveyError, ValidationError, VersionConflictError } from "../errors.js";
import { checkName } from "../runtime/wait.js";
import { ScopedEntry, StoredEntry } from "./entry.js";
import { storeCore } from "./in-memory-store.js";
import type { KeySpace } from "./key-space.js";
import { checkCount, type CoreRecipe, type StoreCore } from "./store-core.js";
import type { StateChange, StateEntry, StateStore, UpdateOptions, UpdateRecipe, UpdateResult, WatchOptions } from "./types.js";
import { UpdatedEntry } from "./update-recipe.js";

/**
 * The store key of `key` in namespace `namespace`. The namespace is length-prefixed, so no
 * (namespace, key) pair can produce another pair's store key, whatever characters either
 * contains ("a" + "b:c" and "a:b" + "c" give "1:a:b:c" and "3:a:b:c").
 * @internal
 */
export function namespacePrefix(namespace: string): string {
  return `${namespace.length}:${namespace}:`;
}

/**
 * An error about the store key, restated for the view's key: a version conflict is rebuilt, and
 * a covey error whose message quotes the store key (`storeKey`) quotes the view's key instead.
 */
function scopeError(err: unknown, key: string, storeKey?: string): unknown {
  if (err instanceof VersionConflictError) {
    const scoped = new VersionConflictError(key, err.expectedVersion, err.actualVersion);
    if (storeKey !== undefined) scoped.message = err.message.replaceAll(JSON.stringify(storeKey), JSON.stringify(key));
    return scoped;
  }
  if (storeKey !== undefined && err instanceof CoveyError) {
    err.message = err.message.replaceAll(JSON.stringify(storeKey), JSON.stringify(key));
  }
  return err;
}

/**
 * One namespace of a store, seen as a store of its own: every key is stored under the
 * namespace's prefix, and keys, entries, changes and history come back un-prefixed.
 *
 * Over an InMemoryStateStore the hot operations (get, set, compareAndSwap, update, delete,
 * keys) work on the namespace's own key space in the store's synchronous core: no second async
 * hop, no joined key to build and hash per operation, and one scoped entry per stored entry
 * instead of one per read. The view is the `kv` of every system. Any other backend goes through
 * its public API with joined keys.
 * @internal
 */
export class NamespaceView implements StateStore {
  readonly #store: StateStore;
  readonly #core: StoreCore | undefined;
  readonly #space: KeySpace | undefined;
  readonly #prefix: string;
  readonly #name: string;

  constructor(store: StateStore, namespace: string) {
    this.#store = store;
    this.#name = namespace;
    this.#prefix = namespacePrefix(namespace);
    const core = storeCore(store);
    this.#core = core;
    this.#space = core?.space(this.#prefix);
  }

  /** The namespace this view is scoped to. */
  get namespace(): string {
    return this.#name;
  }

  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    checkName(key, "key");
    const space = this.#space;
    if (space !== undefined) return space.entries.get(key)?.scoped(key) as StateEntry<T> | undefined;
    const inner = await this.#store.get<T>(this.#prefix + key);
    return inner === undefined ? undefined : new ScopedEntry(key, inner);
  }

  /** The value of `key`, without building a scoped entry. @internal */
  async value<T>(key: string): Promise<T | undefined> {
    checkName(key, "key");
    const space = this.#space;
    if (space !== undefined) return space.entries.get(key)?.value as T | undefined;
    return (await this.#store.get<T>(this.#prefix + key))?.value;
  }

  async set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    checkName(key, "key");
    const space = this.#space;
    try {
      if (space !== undefined) return this.#core!.setIn(space, key, value, opts, key).scoped(key) as StateEntry<T>;
      return new ScopedEntry(key, await this.#store.set(this.#prefix + key, value, opts));
    } catch (err) {
      throw scopeError(err, key, this.#prefix + key);
    }
  }

  async delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    checkName(key, "key");
    const space = this.#space;
    try {
      if (space !== undefined) return this.#core!.deleteIn(space, key, opts, key);
      return await this.#store.delete(this.#prefix + key, opts);
    } catch (err) {
      throw scopeError(err, key, this.#prefix + key);
    }
  }

  async compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    checkName(key, "key");
    const space = this.#space;
    if (space !== undefined) return this.#core!.compareAndSwapIn(space, key, expectedValue, newValue, opts, key);
    try {
      return await this.#store.compareAndSwap(this.#prefix + key, expectedValue, newValue, opts);
    } catch (err) {
      throw scopeError(err, key, this.#prefix + key);
    }
  }

  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  async update<T, R>(key: string, fn: UpdateRecipe<T, R, never>, opts?: UpdateOptions): Promise<UpdateResult<T, R>> {
    checkName(key, "key");
    const space = this.#space;
    if (space !== undefined) return this.#core!.updateIn(space, key, fn as unknown as CoreRecipe, opts, key, true) as UpdateResult<T, R>;
    // Another backend runs the update itself (atomically, if it can); its entry and errors are
    // restated under the view's key.
    try {
      const inner = await this.#store.update<T, R>(this.#prefix + key, fn as UpdateRecipe<T, R>, opts);
      return new UpdatedEntry(new ScopedEntry(key, inner), inner.result, inner.changed);
    } catch (err) {
      throw scopeError(err, key, this.#prefix + key);
    }
  }

  async keys(prefix?: string): Promise<string[]> {
    const space = this.#space;
    if (space !== undefined) return this.#core!.keysIn(space, prefix);
    if (prefix !== undefined && typeof prefix !== "string") {
      throw new ValidationError("prefix must be a string", [{ path: ["prefix"], message: "must be a string" }]);
    }
    const n = this.#prefix.length;
    // Same common prefix on every key, so the store's order is the order of the remainders.
    return (await this.#store.keys(this.#prefix + (prefix ?? ""))).map((k) => k.slice(n));
  }

  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void {
    checkName(filter, "filter");
    const scoped = filter === "*" ? `${this.#prefix}*` : this.#prefix + filter;
    return this.#store.watch(scoped, (change) => listener(this.#scope(change) as StateChange<T>), opts);
  }

  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    if (opts?.limit !== undefined) checkCount(opts.limit, "limit", 0);
    if (opts?.key !== undefined) {
      checkName(opts.key, "key");
      const byKey = opts.limit === undefined ? { key: this.#prefix + opts.key } : { key: this.#prefix + opts.key, limit: opts.limit };
      return (await this.#store.history(byKey)).map((c) => this.#scope(c));
    }
    const limit = opts?.limit;
    const mine = (await this.#store.history()).filter((c) => c.key.startsWith(this.#prefix));
    const last = limit === undefined || limit >= mine.length ? mine : mine.slice(mine.length - limit);
    return last.map((c) => this.#scope(c));
  }

  #scope(change: StateChange): StateChange {
    const key = change.key.slice(this.#prefix.length);
    const { entry, previous } = change;
    const out: { type: "set" | "delete"; key: string; entry?: StateEntry; previous?: StateEntry } = { type: change.type, key };
    if (entry !== undefined) out.entry = scopeEntry(key, entry);
    if (previous !== undefined) out.previous = scopeEntry(key, previous);
    return Object.freeze(out);
  }
}

/** `entry` under the namespace's `key`: the stored entry's own scoped view when it has one. */
function scopeEntry(key: string, entry: StateEntry): StateEntry {
  return entry instanceof StoredEntry ? entry.scoped(key) : new ScopedEntry(key, entry);
}
