import type { Draft } from "immer";

/** One stored value with its metadata. Entries are immutable snapshots. */
export interface StateEntry<T = unknown> {
  readonly key: string;
  /** The stored value, deeply frozen. */
  readonly value: T;
  /**
   * >= 1; per key strictly increasing and never reused, also across delete and re-create.
   * Opaque: compare versions for equality and order, never compute `version + 1`.
   */
  readonly version: number;
  /** `clock.now()` at the write. */
  readonly timestamp: number;
  readonly updatedBy: string;
  /** Hex digest of the canonical (sorted-key) JSON of `value`. */
  readonly checksum: string;
}

/** A committed change, as seen by `watch` listeners and `history`. */
export interface StateChange<T = unknown> {
  readonly type: "set" | "delete";
  readonly key: string;
  /** The new entry (for `set`). */
  readonly entry?: StateEntry<T>;
  /** What it replaced or deleted. */
  readonly previous?: StateEntry<T>;
}

/** A versioned key-value store with optimistic locking. Every backend implements this. */
export interface StateStore {
  get<T>(key: string): Promise<StateEntry<T> | undefined>;
  set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>>;
  delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean>;
  compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean>;
  update<T>(
    key: string,
    fn: (draft: Draft<T> | undefined) => T | void,
    opts?: { by?: string; maxRetries?: number },
  ): Promise<StateEntry<T>>;
  keys(prefix?: string): Promise<string[]>;
  watch(filter: string, listener: (change: StateChange) => void): () => void;
  history(opts?: { key?: string; limit?: number }): Promise<StateChange[]>;
}
