import { UnknownNamespaceError } from "../errors.js";
import { checkName } from "../runtime/wait.js";
import { InMemoryStateStore } from "./in-memory-store.js";
import { NamespaceView } from "./namespace-view.js";
import type { StateEntry, StateStore } from "./types.js";
import { describeValue } from "../runtime/describe.js";

/**
 * A store divided into namespaces that cannot see each other's keys, whatever characters the
 * names contain. `namespace(name)` gives a scoped store with the whole {@link StateStore} API;
 * `get` / `set` / `listKeys` are the textbook's shortcuts over it.
 *
 * @example
 * ```ts
 * const state = new NamespacedState(new InMemoryStateStore());
 * state.createNamespace("shared");
 * await state.set("shared", "goal", "ship v1", "planner");
 * await state.get<string>("shared", "goal");       // "ship v1"
 * const kv = state.namespace("shared");            // a StateStore
 * await kv.update<number>("runs", (n) => (n ?? 0) + 1);
 * ```
 */
export class NamespacedState {
  readonly #store: StateStore;
  readonly #views = new Map<string, NamespaceView>();
  readonly #names = new Set<string>();

  /** @param store where every namespace's keys live; a new InMemoryStateStore if omitted */
  constructor(store: StateStore = new InMemoryStateStore()) {
    this.#store = store;
  }

  /** The underlying store, holding every namespace's keys under length-prefixed names. */
  get store(): StateStore {
    return this.#store;
  }

  /** The names created so far. */
  get namespaces(): ReadonlySet<string> {
    return this.#names;
  }

  /** Creates `namespace`; creating one that exists does nothing. */
  createNamespace(namespace: string): void {
    checkName(namespace, "namespace");
    if (this.#views.has(namespace)) return;
    this.#views.set(namespace, new NamespaceView(this.#store, namespace));
    this.#names.add(namespace);
  }

  /**
   * A store scoped to `namespace`: its keys, watch filters, changes and history are relative
   * to the namespace. The same object is returned on every call.
   * @throws UnknownNamespaceError when `namespace` was not created
   */
  namespace(namespace: string): StateStore {
    return this.#view(namespace);
  }

  /**
   * The value of `key` in `namespace` (not the entry: use `namespace(ns).get` for version and
   * metadata), or undefined when absent.
   * @throws UnknownNamespaceError
   */
  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    return this.#view(namespace).value<T>(key);
  }

  /**
   * Writes `value` under `key` in `namespace`, recording `by` as `updatedBy`.
   * @returns the new entry, with the un-prefixed key
   * @throws UnknownNamespaceError, ValidationError
   */
  async set<T>(namespace: string, key: string, value: T, by?: string): Promise<StateEntry<T>> {
    return this.#view(namespace).set(key, value, by === undefined ? undefined : { by });
  }

  /**
   * The keys of `namespace`, sorted.
   * @throws UnknownNamespaceError
   */
  async listKeys(namespace: string): Promise<string[]> {
    return this.#view(namespace).keys();
  }

  #view(namespace: string): NamespaceView {
    const view = this.#views.get(namespace);
    if (view === undefined) throw new UnknownNamespaceError(typeof namespace === "string" ? namespace : describeValue(namespace));
    return view;
  }
}
