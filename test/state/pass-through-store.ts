import type { Draft } from "immer";
import type { StateChange, StateEntry, StateStore, UpdateOptions, UpdateRecipe, UpdateResult, WatchOptions } from "../../src/state/types.js";

/** A backend that is not an InMemoryStateStore, so namespace views use only the public API. */
export class PassThroughStore implements StateStore {
  readonly #inner: StateStore;
  constructor(inner: StateStore) {
    this.#inner = inner;
  }
  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    return this.#inner.get<T>(key);
  }
  async set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    return this.#inner.set(key, value, opts);
  }
  async delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    return this.#inner.delete(key, opts);
  }
  async compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    return this.#inner.compareAndSwap(key, expectedValue, newValue, opts);
  }
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  async update<T, R>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>> {
    return this.#inner.update(key, fn, opts);
  }
  async keys(prefix?: string): Promise<string[]> {
    return this.#inner.keys(prefix);
  }
  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void {
    return this.#inner.watch(filter, listener, opts);
  }
  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    return this.#inner.history(opts);
  }
}
