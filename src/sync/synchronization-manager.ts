import { ClosedError, ValidationError } from "../errors.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import { checkName } from "../runtime/wait.js";
import { Barrier } from "./barrier.js";
import { checkCount } from "./checks.js";
import { Lock } from "./lock.js";
import { LockTable } from "./lock-table.js";
import { describeValue } from "../runtime/describe.js";
import { Semaphore } from "./semaphore.js";
import type { BarrierSnapshot, LockSnapshot, SemaphoreSnapshot, SyncSnapshot } from "./snapshot.js";

/**
 * Creates and keeps a system's locks, barriers and semaphores by id, all on one clock and one
 * deadline queue, and closes them together.
 *
 * `getLock` / `getBarrier` / `getSemaphore` return the existing primitive for an id, or create
 * it. Asking for an existing barrier or semaphore with another count is a `ValidationError`
 * rather than a silent second primitive.
 *
 * Locks are forgotten once nobody holds or waits for them, so a lock per task or per key
 * costs nothing after use (see {@link SynchronizationManager.getLock}). Barriers and
 * semaphores are kept: their count is configuration the manager checks on every `get*`, and a
 * barrier's generation is state; systems use a fixed few of them.
 *
 * @example
 * ```ts
 * const sync = new SynchronizationManager();
 * await sync.getLock("task:42").withLock("worker-1", () => runTask());
 * sync.close(); // pending waits reject with ClosedError
 * ```
 */
export class SynchronizationManager {
  readonly #runtime: Runtime;
  readonly #locks = new LockTable();
  readonly #barriers = new Map<string, Barrier>();
  readonly #semaphores = new Map<string, Semaphore>();
  #closed = false;

  /** @param opts - `clock` shared by every primitive it creates. */
  constructor(opts?: RuntimeOptions) {
    this.#runtime = resolveRuntime(opts);
  }

  /** Whether {@link SynchronizationManager.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The lock named `lockId`, created on first use.
   *
   * While the lock is in use (held, waited for, or not yet used since this call) the same
   * object comes back. Once it has neither holder nor waiter the manager forgets it, and a
   * later call returns a new object for the id. Nothing breaks for code that kept the old
   * one: both act on the one lock of the id (same holder, queue and token), and the id's
   * fencing tokens keep increasing: a re-created lock starts above every token the manager's
   * forgotten locks issued, so tokens may jump but never repeat or go back.
   * @throws ClosedError after {@link SynchronizationManager.close}.
   */
  getLock(lockId: string): Lock {
    this.#checkOpen();
    checkName(lockId, "lockId");
    let lock = this.#locks.get(lockId);
    if (lock === undefined) {
      lock = new Lock(lockId, { runtime: this.#runtime, table: this.#locks } as RuntimeOptions);
      this.#locks.add(lock);
    }
    return lock;
  }

  /**
   * The barrier named `barrierId` for `count` agents, created on first use.
   * @throws ValidationError if it exists with another count; ClosedError after close.
   */
  getBarrier(barrierId: string, count: number): Barrier {
    this.#checkOpen();
    checkName(barrierId, "barrierId");
    checkCount(count, "count");
    let barrier = this.#barriers.get(barrierId);
    if (barrier === undefined) {
      barrier = new Barrier(count, { runtime: this.#runtime, name: barrierId });
      this.#barriers.set(barrierId, barrier);
    } else if (barrier.requiredCount !== count) {
      throw new ValidationError(
        `Barrier ${JSON.stringify(barrierId)} exists with count ${barrier.requiredCount}, asked for ${describeValue(count)}`,
        [{ path: ["count"], message: `must be ${barrier.requiredCount}, as when the barrier was created` }],
      );
    }
    return barrier;
  }

  /**
   * The semaphore named `semaphoreId` with `permits` permits, created on first use.
   * @throws ValidationError if it exists with another number of permits; ClosedError after close.
   */
  getSemaphore(semaphoreId: string, permits: number): Semaphore {
    this.#checkOpen();
    checkName(semaphoreId, "semaphoreId");
    checkCount(permits, "permits");
    let semaphore = this.#semaphores.get(semaphoreId);
    if (semaphore === undefined) {
      semaphore = new Semaphore(permits, { runtime: this.#runtime, name: semaphoreId });
      this.#semaphores.set(semaphoreId, semaphore);
    } else if (semaphore.maxPermits !== permits) {
      throw new ValidationError(
        `Semaphore ${JSON.stringify(semaphoreId)} exists with ${semaphore.maxPermits} permits, asked for ${describeValue(permits)}`,
        [{ path: ["permits"], message: `must be ${semaphore.maxPermits}, as when the semaphore was created` }],
      );
    }
    return semaphore;
  }

  /**
   * Every lock, semaphore and barrier the manager keeps right now, as plain data: holders,
   * fencing tokens, remaining leases, waiters (oldest first, with the time each started),
   * permits and barrier arrivals. Reads only; costs one pass over the primitives.
   *
   * @example
   * ```ts
   * for (const lock of sync.snapshot().locks) {
   *   if (lock.waiters.length > 0) console.log(`${lock.id}: held by ${lock.holder}, ${lock.waiters.length} waiting`);
   * }
   * ```
   */
  snapshot(): SyncSnapshot {
    const locks: LockSnapshot[] = [];
    for (const lock of this.#locks.values()) locks.push(lock.snapshot());
    const semaphores: SemaphoreSnapshot[] = [];
    for (const [id, semaphore] of this.#semaphores) semaphores.push(semaphore.snapshot(id));
    const barriers: BarrierSnapshot[] = [];
    for (const [id, barrier] of this.#barriers) barriers.push(barrier.snapshot(id));
    return { at: this.#runtime.clock.now(), locks, semaphores, barriers };
  }

  /**
   * Closes every primitive: pending acquires and waits reject with `ClosedError`, lease and
   * timeout timers are cleared, and later `get*` calls (and acquires on primitives obtained
   * before) throw / reject with `ClosedError`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const lock of this.#locks.close()) lock.close();
    for (const barrier of this.#barriers.values()) barrier.close();
    for (const semaphore of this.#semaphores.values()) semaphore.close();
    this.#barriers.clear();
    this.#semaphores.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError("synchronization manager");
  }
}
