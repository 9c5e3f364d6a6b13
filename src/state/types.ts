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

/**
 * Where a `watch` starts. Without options it sees only changes committed after the call.
 *
 * - `includeCurrent`: first one `set` change (no `previous`) per key that matches the filter now,
 *   in key order, then `onReady`, then live changes.
 * - `fromVersion`: first every retained change committed after the change that produced version
 *   `fromVersion` (in the store's commit order, whatever key it was on; `0` means every retained
 *   change), then `onReady`, then live changes. How much is retained is the store's
 *   `historyLimit`; changes older than that are not replayed.
 *
 * The two are exclusive (both given: ValidationError). Either way every change reaches the
 * listener exactly once and in commit order: nothing committed while the initial part is
 * delivered is lost or repeated.
 */
export interface WatchOptions {
  /** Deliver the current values first. @default false */
  includeCurrent?: boolean;
  /** Replay the retained changes committed after the change that produced this version first. */
  fromVersion?: number;
  /**
   * Called once when the initial part (current values or replayed changes) has reached the
   * listener, and before any live change; also when that part was empty, and right away (after
   * nothing) when neither `includeCurrent` nor `fromVersion` is given. Not called if the watch
   * was stopped first.
   */
  onReady?: () => void;
}

/**
 * What an `update` recipe receives as its second argument: a fresh one on every attempt, so a
 * result set by an attempt that lost a conflict never leaks into the one that commits.
 */
export interface UpdateContext<R = unknown> {
  /** What `update` hands back as `result`. Set it in the recipe; undefined until set. */
  result: R | undefined;
  /** 0 on the first run of the recipe, 1 on the first retry, ... */
  readonly attempt: number;
}

/** Options of `update`. */
export interface UpdateOptions {
  /** Recorded as the entry's `updatedBy`. @default "system" */
  by?: string;
  /** Re-runs after a version conflict before the conflict is thrown. @default 10 */
  maxRetries?: number;
  /**
   * The caller states that the key exists: the draft is typed without `| undefined`, and an
   * absent key rejects with a ValidationError (nothing is written, the recipe does not run).
   * @default false
   */
  exists?: boolean;
}

/** An immer recipe for `update`: mutate the draft or return a new value; set `ctx.result` to hand a result back. */
export type UpdateRecipe<T, R = unknown, D = Draft<T> | undefined> = (draft: D, ctx: UpdateContext<R>) => T | void;

/**
 * What `update` returns: the key's entry after the update (the new one, or the unchanged current
 * one when the recipe changed nothing), the recipe's `result`, and whether it wrote.
 */
export interface UpdateResult<T = unknown, R = unknown> extends StateEntry<T> {
  /** What the committing run of the recipe set as `ctx.result`; undefined if it set nothing. */
  readonly result: R | undefined;
  /** false when the recipe changed nothing: no write, no new version, no watch notification. */
  readonly changed: boolean;
}

/** A versioned key-value store with optimistic locking. Every backend implements this. */
export interface StateStore {
  get<T>(key: string): Promise<StateEntry<T> | undefined>;
  set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>>;
  delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean>;
  compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean>;
  /**
   * Read-modify-write with automatic retry on conflict. The recipe (immer) gets a draft of the
   * current value (undefined when absent, unless `exists: true`) and a fresh {@link UpdateContext}
   * per attempt. A result that deep-equals the current value writes nothing (`changed: false`);
   * an undefined result rejects with ValidationError, a conflict after `maxRetries` retries with
   * the last VersionConflictError. Errors name the key as the caller wrote it.
   * @example
   * ```ts
   * const { result: taskId } = await kv.update<Task[], string>("tasks", (tasks, out) => {
   *   const t = tasks.find((t) => !t.owner); if (t) { t.owner = me; out.result = t.id; } }, { exists: true });
   * ```
   */
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  keys(prefix?: string): Promise<string[]>;
  /**
   * Calls `listener` with every change to a key matching `filter` (an exact key, a prefix ending
   * in `*`, or `*`), in commit order, exactly once; `opts` makes it start from the current values
   * or from a version (see {@link WatchOptions}).
   * @returns an idempotent unsubscribe function
   */
  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void;
  history(opts?: { key?: string; limit?: number }): Promise<StateChange[]>;
}
