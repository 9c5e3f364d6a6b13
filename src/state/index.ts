export { InMemoryStateStore } from "./in-memory-store.js";
export type { InMemoryStateStoreOptions } from "./in-memory-store.js";
export { NamespacedState } from "./namespaced-state.js";
export { ReplicatedState } from "./replicated-state.js";
export type { ReplicatedStateOptions } from "./replicated-state.js";
export { lastWriteWins } from "./last-write-wins.js";
export type { ListenerErrorHandler } from "./change-feed.js";
export type { StateChange, StateEntry, StateStore, UpdateContext, UpdateOptions, UpdateRecipe, UpdateResult, WatchOptions } from "./types.js";
/** @internal For stores that build `update` on get + set(expectedVersion) (SQLite, NATS KV). */
export { updateWithRetry } from "./update-with-retry.js";
export type { VersionedReadWrite } from "./update-with-retry.js";
