/** One agent waiting on a lock, semaphore or barrier. */
export interface SyncWaiterSnapshot {
  /** The agent that waits. */
  readonly agentId: string;
  /** Clock time (ms) at which the wait started. */
  readonly since: number;
}

/** What a {@link Lock} looks like at one instant. */
export interface LockSnapshot {
  /** The lock id. */
  readonly id: string;
  /** The agent holding the lock, or `undefined` when it is free. */
  readonly holder: string | undefined;
  /** The token of the latest successful acquire (0 before the first). */
  readonly fencingToken: number;
  /** Ms until the holder's lease expires; `undefined` when free or held without a lease. */
  readonly leaseRemaining: number | undefined;
  /** Pending acquires, in the order they will be served. */
  readonly waiters: readonly SyncWaiterSnapshot[];
}

/** What a {@link Semaphore} looks like at one instant. */
export interface SemaphoreSnapshot {
  /** The semaphore id (its `name`). */
  readonly id: string;
  /** Permits the semaphore has (`maxPermits`). */
  readonly permits: number;
  /** Permits nobody holds. */
  readonly available: number;
  /** Who holds permits and how many, one entry per holder. */
  readonly holders: readonly { readonly agentId: string; readonly permits: number }[];
  /** Pending acquires, in the order they will be served. */
  readonly waiters: readonly SyncWaiterSnapshot[];
}

/** What a {@link Barrier} looks like at one instant. */
export interface BarrierSnapshot {
  /** The barrier id (its `name`). */
  readonly id: string;
  /** Distinct agents needed to trip (`requiredCount`). */
  readonly required: number;
  /** Agents counted in the current generation, in arrival order; each one is waiting. */
  readonly arrived: readonly SyncWaiterSnapshot[];
  /** The current generation (0 before the first trip or reset). */
  readonly generation: number;
}

/**
 * Every lock, semaphore and barrier a {@link SynchronizationManager} keeps, as plain data:
 * who holds what and who waits for what. Made by `SynchronizationManager#snapshot()`.
 */
export interface SyncSnapshot {
  /** Clock time (ms) at which the snapshot was taken. */
  readonly at: number;
  readonly locks: readonly LockSnapshot[];
  readonly semaphores: readonly SemaphoreSnapshot[];
  readonly barriers: readonly BarrierSnapshot[];
}
