import { VersionConflictError } from "../errors.js";
import { checkName } from "../runtime/wait.js";
import type { StateEntry, UpdateOptions, UpdateRecipe, UpdateResult } from "./types.js";
import { checkUpdate, exhaustedError, missingKeyError, runRecipe, unchanged, updateContext, UpdatedEntry } from "./update-recipe.js";

/** The two operations {@link updateWithRetry} builds on. */
export interface VersionedReadWrite {
  get(key: string): Promise<StateEntry | undefined>;
  /** Writes only if the key's version is `expectedVersion` (0: absent), else VersionConflictError. */
  set(key: string, value: unknown, opts: { by: string; expectedVersion: number }): Promise<StateEntry>;
  /**
   * The key's entry from a local copy that may lag the store (absent: no copy, or the key is
   * not in it). Used for the first attempt only; a stale copy costs one conflict and a retry.
   */
  peek?(key: string): StateEntry | undefined;
}

/**
 * `StateStore#update` on top of `get` and a version-checked `set`, with the contract's exact
 * semantics, for stores that cannot run the recipe inside their own commit (SQLite, NATS KV):
 *
 * - the recipe runs on a draft of the value read, with a fresh `UpdateContext` per attempt;
 *   the result of the attempt that commits is handed back as `result`;
 * - a result that deep-equals the value read writes nothing (`changed: false`, the entry read);
 * - a write refused with VersionConflictError re-reads and re-runs, up to `maxRetries` times,
 *   then throws the last conflict (restated under `key`);
 * - `exists: true` on an absent key, an undefined result, a promise result: ValidationError,
 *   nothing written; what the recipe throws is rethrown as is.
 *
 * `key` is passed to `get` / `set` unchanged and names the key in every error, so pass the key
 * as the caller wrote it (the store maps it to its own encoding).
 * @example
 * ```ts
 * update(key, fn, opts) {
 *   return updateWithRetry(
 *     { get: (k) => this.get(k), set: (k, v, o) => this.set(k, v, o) }, key, fn, opts);
 * }
 * ```
 * @internal
 */
export async function updateWithRetry<T, R>(
  store: VersionedReadWrite,
  key: string,
  fn: UpdateRecipe<T, R, never>,
  opts?: UpdateOptions,
): Promise<UpdateResult<T, R>> {
  checkName(key, "key");
  const { by, maxRetries, exists } = checkUpdate(fn, opts);
  const recipe = fn as unknown as Parameters<typeof runRecipe>[2];
  // A store with a local copy (NATS) offers it for the first read: the revision-checked write
  // catches a stale copy. A decision to write nothing is only final on a fresh read.
  let local = store.peek?.(key);
  for (let attempt = 0; ; attempt++) {
    const optimistic = local !== undefined;
    const prev = optimistic ? local : await store.get(key);
    local = undefined;
    if (exists && prev === undefined) throw missingKeyError(key);
    const ctx = updateContext(attempt);
    const next = runRecipe(key, prev?.value, recipe, ctx);
    if (unchanged(prev, next)) {
      if (optimistic) {
        attempt--;
        continue;
      }
      return new UpdatedEntry(prev as StateEntry<T>, ctx.result as R | undefined, false);
    }
    const expected = prev?.version ?? 0;
    try {
      const entry = await store.set(key, next, { by, expectedVersion: expected });
      return new UpdatedEntry(entry as StateEntry<T>, ctx.result as R | undefined, true);
    } catch (err) {
      if (!(err instanceof VersionConflictError)) throw err;
      if (attempt >= maxRetries) throw exhaustedError(key, expected, err.actualVersion, attempt + 1);
    }
  }
}
