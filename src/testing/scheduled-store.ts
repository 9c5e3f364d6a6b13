import type { Draft } from "immer";
import type { Scheduler } from "../runtime/scheduler.js";
import type { Tracer } from "../runtime/trace.js";
import type {
  StateChange,
  StateEntry,
  StateStore,
  UpdateOptions,
  UpdateRecipe,
  UpdateResult,
  WatchOptions,
} from "../state/types.js";

/**
 * A store whose every operation first waits for its turn at the scheduler, as a call to a
 * remote store would. In a seeded test system this lets another agent's step run between a
 * read and a later write, so "read, then write" races show up in tests; the wrapped store's
 * operations themselves stay atomic.
 *
 * With a tracer that asks for reads, each `get` is recorded (kind `read`) with the version it
 * saw, attributed to `reader()` (the agent whose handler is running).
 * @internal
 */
export class ScheduledStateStore implements StateStore {
  readonly #inner: StateStore;
  readonly #scheduler: Scheduler;
  readonly #tracer: Tracer | undefined;
  readonly #reader: () => string;

  constructor(inner: StateStore, scheduler: Scheduler, opts: { tracer?: Tracer | undefined; reader?: () => string } = {}) {
    this.#inner = inner;
    this.#scheduler = scheduler;
    this.#tracer = opts.tracer?.reads === true ? opts.tracer : undefined;
    this.#reader = opts.reader ?? (() => "system");
  }

  #turn(key: string): Promise<void> {
    return new Promise((resolve) => this.#scheduler.deliver("state", resolve, key));
  }

  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    await this.#turn(key);
    const entry = await this.#inner.get<T>(key);
    this.#tracer?.record("read", this.#reader(), undefined, key, undefined, { version: entry?.version ?? 0 });
    return entry;
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

  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  async update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>> {
    await this.#turn(key);
    return this.#inner.update<T, R>(key, fn, opts);
  }

  async keys(prefix?: string): Promise<string[]> {
    await this.#turn(prefix ?? "*");
    return this.#inner.keys(prefix);
  }

  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void {
    return this.#inner.watch<T>(filter, listener, opts);
  }

  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    return this.#inner.history(opts);
  }
}
