import type { Draft } from "immer";
import type { Scheduler } from "../runtime/scheduler.js";
import type { StateChange, StateEntry, StateStore } from "../state/types.js";

/**
 * A store whose every operation first waits for its turn at the scheduler, as a call to a
 * remote store would. In a seeded test system this lets another agent's step run between a
 * read and a later write, so "read, then write" races show up in tests; the wrapped store's
 * operations themselves stay atomic.
 * @internal
 */
export class ScheduledStateStore implements StateStore {
  readonly #inner: StateStore;
  readonly #scheduler: Scheduler;

  constructor(inner: StateStore, scheduler: Scheduler) {
    this.#inner = inner;
    this.#scheduler = scheduler;
  }

  #turn(key: string): Promise<void> {
    return new Promise((resolve) => this.#scheduler.deliver("state", resolve, key));
  }

  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    await this.#turn(key);
    return this.#inner.get<T>(key);
  }

  async set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    await this.#turn(key);
    return this.#inner.set(key, value, opts);
  }

  async delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    await this.#turn(key);
    return this.#inner.delete(key, opts);
  }

  async compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    await this.#turn(key);
    return this.#inner.compareAndSwap(key, expectedValue, newValue, opts);
  }

  async update<T>(key: string, fn: (draft: Draft<T> | undefined) => T | void, opts?: { by?: string; maxRetries?: number }): Promise<StateEntry<T>> {
    await this.#turn(key);
    return this.#inner.update(key, fn, opts);
  }

  async keys(prefix?: string): Promise<string[]> {
    await this.#turn(prefix ?? "*");
    return this.#inner.keys(prefix);
  }

  watch(filter: string, listener: (change: StateChange) => void): () => void {
    return this.#inner.watch(filter, listener);
  }

  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    return this.#inner.history(opts);
  }
}
