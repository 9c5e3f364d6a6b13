import type { Lock } from "./lock.js";

/**
 * The locks of one {@link SynchronizationManager} that are in use, by id.
 *
 * A lock with no holder and no waiter has no state worth keeping but its fencing token, so it
 * leaves the table (a system that takes one `task:<id>` lock per task would otherwise keep
 * every lock it ever made). Its token is folded into {@link LockTable.floor}, the highest
 * token any forgotten lock issued; a lock that (re)joins the table starts counting above it,
 * so tokens of one id stay strictly increasing across forget and re-create, in O(1) memory
 * and without depending on when the garbage collector runs.
 * @internal
 */
export class LockTable {
  readonly #locks = new Map<string, Lock>();
  #floor = 0;
  #closed = false;

  /** The highest fencing token issued by a lock that left the table. */
  get floor(): number {
    return this.#floor;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#locks.size;
  }

  /** The lock in use for `lockId`, if any. */
  get(lockId: string): Lock | undefined {
    return this.#locks.get(lockId);
  }

  /** Puts `lock` in the table; the caller has checked that no other lock holds its id. */
  add(lock: Lock): void {
    this.#locks.set(lock.lockId, lock);
  }

  /** Takes an idle `lock` out of the table, keeping only its last token in the floor. */
  forget(lock: Lock, token: number): void {
    if (this.#locks.get(lock.lockId) === lock) this.#locks.delete(lock.lockId);
    if (token > this.#floor) this.#floor = token;
  }

  values(): IterableIterator<Lock> {
    return this.#locks.values();
  }

  /** Marks the table closed and empties it; returns the locks that were in it. */
  close(): Lock[] {
    this.#closed = true;
    const locks = [...this.#locks.values()];
    this.#locks.clear();
    return locks;
  }
}
