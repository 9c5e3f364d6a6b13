import { ClosedError, ValidationError } from "../../errors.js";
import { describeValue } from "../../runtime/describe.js";
import type { Runtime } from "../../runtime/runtime.js";
import { checkName } from "../../runtime/wait.js";
import type { Barrier } from "../../sync/barrier.js";
import { checkCount } from "../../sync/checks.js";
import type { Lock } from "../../sync/lock.js";
import type { Semaphore } from "../../sync/semaphore.js";
import type { BarrierSnapshot, LockSnapshot, SemaphoreSnapshot, SyncSnapshot } from "../../sync/snapshot.js";
import { SynchronizationManager } from "../../sync/synchronization-manager.js";
import { NatsBarrier } from "./sync-barrier.js";
import { NatsLock } from "./sync-lock.js";
import { NatsSemaphore } from "./sync-semaphore.js";
import type { SyncTable } from "./sync-table.js";
import { SyncWork } from "./sync-work.js";

/**
 * The {@link SynchronizationManager} of a system on NATS: its locks, semaphores and barriers
 * live in the mesh's sync bucket, so every process of the mesh shares them by id (see
 * `NatsLock`, `NatsSemaphore`, `NatsBarrier` for the rules). The count of a barrier and the
 * permits of a semaphore are checked against the mesh's record: asking for another count than
 * the one it was created with is a `ValidationError`, in any process.
 * @internal
 */
export class NatsSyncManager extends SynchronizationManager {
  readonly #table: SyncTable;
  readonly #rt: Runtime;
  readonly #work: SyncWork;
  readonly #locks = new Map<string, NatsLock>();
  readonly #barriers = new Map<string, NatsBarrier>();
  readonly #semaphores = new Map<string, NatsSemaphore>();
  #closed = false;

  constructor(table: SyncTable, runtime: Runtime, onError: (error: unknown) => void) {
    super({ runtime });
    this.#table = table;
    this.#rt = runtime;
    this.#work = new SyncWork(onError);
  }

  override get closed(): boolean {
    return this.#closed;
  }

  override getLock(lockId: string): Lock {
    this.#checkOpen();
    checkName(lockId, "lockId");
    let lock = this.#locks.get(lockId);
    if (lock === undefined) {
      // Idle lock objects are dropped as new ones come, so a lock per task costs nothing after use.
      if (this.#locks.size >= 1024) for (const [id, l] of this.#locks) if (l.idle) this.#locks.delete(id);
      lock = new NatsLock(lockId, this.#table, this.#rt, this.#work);
      this.#locks.set(lockId, lock);
    }
    return lock;
  }

  override getBarrier(barrierId: string, count: number): Barrier {
    this.#checkOpen();
    checkName(barrierId, "barrierId");
    checkCount(count, "count");
    const existing = this.#barriers.get(barrierId)?.requiredCount ?? NatsBarrier.existingCount(this.#table, barrierId);
    if (existing !== undefined && existing !== count) {
      throw new ValidationError(`Barrier ${JSON.stringify(barrierId)} exists with count ${existing}, asked for ${describeValue(count)}`, [
        { path: ["count"], message: `must be ${existing}, as when the barrier was created` },
      ]);
    }
    let barrier = this.#barriers.get(barrierId);
    if (barrier === undefined) this.#barriers.set(barrierId, (barrier = new NatsBarrier(barrierId, count, this.#table, this.#rt, this.#work)));
    return barrier;
  }

  override getSemaphore(semaphoreId: string, permits: number): Semaphore {
    this.#checkOpen();
    checkName(semaphoreId, "semaphoreId");
    checkCount(permits, "permits");
    const existing = this.#semaphores.get(semaphoreId)?.maxPermits ?? NatsSemaphore.existingPermits(this.#table, semaphoreId);
    if (existing !== undefined && existing !== permits) {
      throw new ValidationError(`Semaphore ${JSON.stringify(semaphoreId)} exists with ${existing} permits, asked for ${describeValue(permits)}`, [
        { path: ["permits"], message: `must be ${existing}, as when the semaphore was created` },
      ]);
    }
    let semaphore = this.#semaphores.get(semaphoreId);
    if (semaphore === undefined) {
      this.#semaphores.set(semaphoreId, (semaphore = new NatsSemaphore(semaphoreId, permits, this.#table, this.#rt, this.#work)));
    }
    return semaphore;
  }

  /** The mesh's locks, semaphores and barriers as this process sees them (waiters: this process's). */
  override snapshot(): SyncSnapshot {
    const locks: LockSnapshot[] = [];
    for (const [key] of this.#table.entries("lock:")) locks.push(this.#lockFor(key.slice(5)).snapshot());
    for (const [id, lock] of this.#locks) if (this.#table.get(`lock:${id}`) === undefined && lock.waiting > 0) locks.push(lock.snapshot());
    const semaphores: SemaphoreSnapshot[] = [];
    for (const [id, semaphore] of this.#semaphores) semaphores.push(semaphore.snapshot(id));
    const barriers: BarrierSnapshot[] = [];
    for (const [id, barrier] of this.#barriers) barriers.push(barrier.snapshot(id));
    return { at: this.#rt.clock.now(), locks, semaphores, barriers };
  }

  /**
   * Closes every primitive of this process: its pending waits reject with `ClosedError`, and
   * what it holds is released on the mesh (written behind; see {@link NatsSyncManager.settled}).
   */
  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const lock of this.#locks.values()) lock.close();
    for (const barrier of this.#barriers.values()) barrier.close();
    for (const semaphore of this.#semaphores.values()) semaphore.close();
    this.#locks.clear();
    this.#barriers.clear();
    this.#semaphores.clear();
  }

  /** Resolves once the releases and other writes started so far have reached the server. */
  settled(): Promise<void> {
    return this.#work.settled();
  }

  // A lock object costs nothing until used: a throwaway one can describe a record.
  #lockFor(id: string): Lock {
    return this.#locks.get(id) ?? new NatsLock(id, this.#table, this.#rt, this.#work);
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError("synchronization manager");
  }
}
