import { onAbort } from "../runtime/abort.js";
import type { Deadline, TimerQueue } from "../runtime/timer-queue.js";
import type { SyncWaiterSnapshot } from "./snapshot.js";

/**
 * One pending `acquire` of a lock or semaphore: who waits, how to settle its promise, and the
 * deadline / abort registration to drop the moment it leaves the queue.
 * @internal
 */
export class Waiter<V> {
  prev: Waiter<V> | undefined = undefined;
  next: Waiter<V> | undefined = undefined;
  queued = false;
  readonly agentId: string;
  /** Lease length to start when granted (locks only). */
  readonly ttl: number | undefined;
  /** Resolve with the fencing token instead of `true` (used by `withLock`). */
  readonly wantsToken: boolean;
  /** Clock time the wait started, for snapshots. */
  readonly since: number;
  resolve: (value: V) => void = noop;
  reject: (reason: unknown) => void = noop;
  deadline: Deadline | undefined = undefined;
  off: (() => void) | undefined = undefined;

  constructor(agentId: string, ttl: number | undefined, wantsToken: boolean, since: number) {
    this.agentId = agentId;
    this.ttl = ttl;
    this.wantsToken = wantsToken;
    this.since = since;
  }

  /**
   * The waiter's promise, with a deadline and an abort registration made only for what was
   * asked: a plain wait adds no timer and no listener. The caller has checked `signal.aborted`.
   */
  arm(
    timers: TimerQueue,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    onTimeout: () => void,
    onAborted: (reason: unknown) => void,
  ): Promise<V> {
    const promise = new Promise<V>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (timeout !== undefined) this.deadline = timers.add(timeout, onTimeout);
    if (signal !== undefined) this.off = onAbort(signal, onAborted);
    return promise;
  }

  /** Drops the timeout and the abort listener; called in the step that ends the wait. */
  detach(): void {
    if (this.deadline !== undefined) {
      this.deadline.cancel();
      this.deadline = undefined;
    }
    if (this.off !== undefined) {
      this.off();
      this.off = undefined;
    }
  }
}

function noop(): void {}

/**
 * A FIFO of waiters on a doubly linked list: push, shift and removal of a waiter that timed out
 * or was aborted are all O(1), so a dead waiter leaves the queue in the same step that fails
 * it and can never be handed the resource afterwards.
 * @internal
 */
export class WaitQueue<V> {
  #head: Waiter<V> | undefined;
  #tail: Waiter<V> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The oldest waiter, left in the queue. */
  get first(): Waiter<V> | undefined {
    return this.#head;
  }

  push(w: Waiter<V>): void {
    w.queued = true;
    w.prev = this.#tail;
    if (this.#tail === undefined) this.#head = w;
    else this.#tail.next = w;
    this.#tail = w;
    this.#size++;
  }

  /** Removes and returns the oldest waiter. */
  shift(): Waiter<V> | undefined {
    const w = this.#head;
    if (w !== undefined) this.remove(w);
    return w;
  }

  /** Removes `w`; a waiter no longer queued is ignored. */
  remove(w: Waiter<V>): void {
    if (!w.queued) return;
    w.queued = false;
    if (w.prev === undefined) this.#head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = undefined;
    this.#size--;
  }

  /** Who waits and since when, oldest first, without changing the queue. */
  describe(): SyncWaiterSnapshot[] {
    const out: SyncWaiterSnapshot[] = [];
    for (let w = this.#head; w !== undefined; w = w.next) out.push({ agentId: w.agentId, since: w.since });
    return out;
  }

  /** Empties the queue, returning the waiters oldest first. */
  drain(): Waiter<V>[] {
    const out: Waiter<V>[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w);
    return out;
  }
}
