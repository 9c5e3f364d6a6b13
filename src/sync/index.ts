export { Barrier } from "./barrier.js";
export type { BarrierOptions } from "./barrier.js";
export { Lock } from "./lock.js";
export type { LockAcquireOptions, WithLockOptions } from "./lock.js";
export type { LockScope } from "./lock-scope.js";
export { Semaphore } from "./semaphore.js";
export type { SemaphoreOptions } from "./semaphore.js";
export { SynchronizationManager } from "./synchronization-manager.js";
export type { BarrierSnapshot, LockSnapshot, SemaphoreSnapshot, SyncSnapshot, SyncWaiterSnapshot } from "./snapshot.js";
