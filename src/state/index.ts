export { InMemoryStateStore } from "./in-memory-store.js";
export type { InMemoryStateStoreOptions } from "./in-memory-store.js";
export { NamespacedState } from "./namespaced-state.js";
export { ReplicatedState } from "./replicated-state.js";
export type { ReplicatedStateOptions } from "./replicated-state.js";
export { lastWriteWins } from "./last-write-wins.js";
export type { ListenerErrorHandler } from "./change-feed.js";
export type { StateChange, StateEntry, StateStore } from "./types.js";
