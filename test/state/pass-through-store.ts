import type { Draft } from "immer";
import type { StateChange, StateEntry, StateStore } from "../../src/state/types.js";

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
  async update<T>(key: string, fn: (draft: Draft<T> | undefined) => T | void, opts?: { by?: string; maxRetries?: number }): Promise<StateEntry<T>> {
    return this.#inner.update(key, fn, opts);
  }
  async keys(prefix?: string): Promise<string[]> {
    return this.#inner.keys(prefix);
  }
  watch(filter: string, listener: (change: StateChange) => void): () => void {
    return this.#inner.watch(filter, listener);
  }
  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    return this.#inner.history(opts);
  }
}
