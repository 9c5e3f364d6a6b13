import { ClosedError, TimeoutError } from "../errors.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import type { Deadline } from "../runtime/timer-queue.js";
import { checkName, checkTimeout } from "../runtime/wait.js";
import { checkTtl, RESOLVED_FALSE, RESOLVED_TRUE } from "./checks.js";
import type { LockSnapshot } from "./snapshot.js";
import { Waiter, WaitQueue } from "./wait-queue.js";

/** Options of {@link Lock.acquire} and {@link Lock.withLock}. */
export interface LockAcquireOptions {
  /** Give up after this many ms: `acquire` resolves `false`, `withLock` rejects with `TimeoutError`. Default: wait until granted. */
  timeout?: number | undefined;
  /** Lease length in ms: the lock is released automatically unless released or re-acquired first. Default: no lease. */
  ttl?: number | undefined;
  /** Aborting it withdraws the wait and rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/**
 * A mutual-exclusion lock with FIFO waiters, fencing tokens and optional leases (the
 * textbook's `DistributedLock`).
 *
 * Every successful acquire increments {@link Lock.fencingToken}; pass the token to
 * {@link Lock.release} (and to whatever the lock protects) so that a holder whose lease expired
 * can never release, or write over, a newer holder's work. A waiter that timed out or was
 * aborted leaves the queue in the same step and is never handed the lock.
 *
 * @example
 * ```ts
 * const lock = new Lock("plan");
 * if (await lock.acquire("planner", { timeout: 1000, ttl: 5000 })) {
 *   const token = lock.fencingToken;
 *   try { await writePlan(token); } finally { lock.release("planner", token); }
 * }
 * ```
 */
export class Lock {
  readonly #lockId: string;
  readonly #runtime: Runtime;
  readonly #queue = new WaitQueue<boolean | number>();
  #holder: string | undefined = undefined;
  #token = 0;
  #lease: Deadline | undefined = undefined;
  #leaseUntil = 0;
  #closed = false;

  /**
   * @param lockId - what the lock protects; names it in errors and trace records.
   * @param opts - `clock` to read time from (a `VirtualClock` in tests).
   */
  constructor(lockId: string, opts?: RuntimeOptions) {
    checkName(lockId, "lockId");
    this.#lockId = lockId;
    this.#runtime = resolveRuntime(opts);
  }

  /** The id given to the constructor. */
  get lockId(): string {
    return this.#lockId;
  }

  /** The agent holding the lock, or `undefined` when it is free. */
  get holder(): string | undefined {
    return this.#holder;
  }

  /** The token of the latest successful acquire; starts at 0 and increases by one per acquire. */
  get fencingToken(): number {
    return this.#token;
  }

  /** Number of acquires waiting in the queue. */
  get waiting(): number {
    return this.#queue.size;
  }

  /**
   * Who holds the lock, until when, and who waits, as plain data; reads only.
   * @example
   * ```ts
   * const { holder, leaseRemaining, waiters } = lock.snapshot();
   * ```
   */
  snapshot(): LockSnapshot {
    const lease = this.#lease;
    return {
      id: this.#lockId,
      holder: this.#holder,
      fencingToken: this.#token,
      leaseRemaining: lease !== undefined && lease.active ? Math.max(0, this.#leaseUntil - this.#runtime.clock.now()) : undefined,
      waiters: this.#queue.describe(),
    };
  }

  /** Whether {@link Lock.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Acquires the lock for `agentId`, waiting in FIFO order behind earlier callers.
   *
   * Acquiring a lock `agentId` already holds renews it at once: `true`, a new fencing token
   * (the old one becomes stale) and the new `ttl` (none if none is given).
   *
   * @returns `true` once held; `false` if `timeout` ms passed first (`timeout: 0` tries once).
   * Rejects with `signal.reason` when aborted, `ClosedError` when the lock is closed.
   * @example
   * ```ts
   * const ok = await lock.acquire("worker-1", { timeout: 500 });
   * ```
   */
  acquire(agentId: string, opts?: LockAcquireOptions): Promise<boolean> {
    // Not `async`: an uncontended acquire returns a shared resolved promise and a contended one
    // its waiter's promise, without the extra promise and ticks an async wrapper adds. Every
    // error still comes back as a rejection, never a synchronous throw.
    try {
      return this.#acquire(agentId, opts, false) as Promise<boolean>;
    } catch (err) {
      // Only covey errors are thrown above (signal reasons are returned, not thrown).
      const error = err as Error;
      return Promise.reject(error);
    }
  }

  /**
   * Releases the lock held by `agentId` and hands it to the next waiter.
   *
   * @param fencingToken - when given, the release only happens if it is still the current
   * token, so a holder whose lease expired cannot release a newer holder's lock.
   * @returns `false` if `agentId` is not the holder or the token is stale; releasing twice
   * returns `false` the second time.
   */
  release(agentId: string, fencingToken?: number): boolean {
    if (this.#holder !== agentId || this.#holder === undefined) return false;
    if (fencingToken !== undefined && fencingToken !== this.#token) return false;
    if (this.#lease !== undefined) {
      this.#lease.cancel();
      this.#lease = undefined;
    }
    this.#handOver();
    return true;
  }

  /**
   * Runs `fn` while holding the lock and releases it afterwards, also when `fn` throws.
   * Unlike {@link Lock.acquire}, running out of time is an error.
   *
   * @returns what `fn` returns. Rejects with `TimeoutError` if the lock was not acquired
   * within `timeout`, with `signal.reason` if aborted, with `ClosedError` if closed.
   * @example
   * ```ts
   * const plan = await lock.withLock("planner", async (token) => store.set("plan", draft, { by: `planner@${token}` }));
   * ```
   */
  async withLock<T>(agentId: string, fn: (fencingToken: number) => Promise<T> | T, opts?: LockAcquireOptions): Promise<T> {
    const got = await this.#acquire(agentId, opts, true);
    if (got === false) {
      throw new TimeoutError(`acquiring lock ${JSON.stringify(this.#lockId)} for ${JSON.stringify(agentId)}`, opts?.timeout ?? 0);
    }
    const token = got as number;
    try {
      return await fn(token);
    } finally {
      this.release(agentId, token);
    }
  }

  /**
   * Closes the lock: every pending acquire rejects with `ClosedError`, the lease timer is
   * cleared, the holder is dropped and later acquires reject with `ClosedError`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#lease !== undefined) {
      this.#lease.cancel();
      this.#lease = undefined;
    }
    this.#holder = undefined;
    const waiters = this.#queue.drain();
    if (waiters.length === 0) return;
    const error = new ClosedError(`lock ${JSON.stringify(this.#lockId)}`);
    for (const w of waiters) {
      w.detach();
      w.reject(error);
    }
  }

  #acquire(agentId: string, opts: LockAcquireOptions | undefined, wantsToken: boolean): Promise<boolean | number> {
    if (this.#closed) throw new ClosedError(`lock ${JSON.stringify(this.#lockId)}`);
    checkName(agentId, "agentId");
    let ttl: number | undefined;
    let timeout: number | undefined;
    let signal: AbortSignal | undefined;
    if (opts !== undefined) {
      timeout = checkTimeout(opts.timeout, "Lock.acquire");
      ttl = checkTtl(opts.ttl, "Lock.acquire");
      signal = opts.signal;
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
    }
    const holder = this.#holder;
    // The queue is empty whenever the lock is free: a release hands over in the same step.
    if (holder === undefined || holder === agentId) {
      this.#take(agentId, ttl);
      return wantsToken ? Promise.resolve(this.#token) : RESOLVED_TRUE;
    }
    if (timeout === 0) return RESOLVED_FALSE;
    const w = new Waiter<boolean | number>(agentId, ttl, wantsToken, this.#runtime.clock.now());
    this.#queue.push(w);
    return w.arm(this.#runtime.timers, timeout, signal, () => this.#timeOut(w), (reason) => this.#abort(w, reason));
  }

  // Decided in one synchronous step: the waiter leaves the queue as it is failed, so a release
  // in the same tick can only find the next live waiter. A waiter already granted is left
  // alone: its deadline may still run when it fell due in the same timer batch as the grant.
  #timeOut(w: Waiter<boolean | number>): void {
    if (!w.queued) return;
    w.deadline = undefined;
    this.#queue.remove(w);
    w.detach();
    w.resolve(false);
  }

  #abort(w: Waiter<boolean | number>, reason: unknown): void {
    if (!w.queued) return;
    w.off = undefined;
    this.#queue.remove(w);
    w.detach();
    w.reject(reason);
  }

  #take(agentId: string, ttl: number | undefined): void {
    this.#holder = agentId;
    const token = ++this.#token;
    if (this.#lease !== undefined) {
      this.#lease.cancel();
      this.#lease = undefined;
    }
    if (ttl !== undefined) {
      this.#leaseUntil = this.#runtime.clock.now() + ttl;
      this.#lease = this.#runtime.timers.add(ttl, () => this.#expire(token));
    }
    this.#runtime.tracer?.record("lock", agentId, undefined, this.#lockId, undefined, { token });
  }

  #expire(token: number): void {
    if (token !== this.#token) return;
    this.#lease = undefined;
    this.#runtime.tracer?.record("lock-expired", this.#holder, undefined, this.#lockId, undefined, { token });
    this.#handOver();
  }

  // The next live waiter becomes holder now (its deadline and listener dropped in this same
  // step); only the notification of its promise goes through the scheduler.
  #handOver(): void {
    const w = this.#queue.shift();
    if (w === undefined) {
      this.#holder = undefined;
      return;
    }
    w.detach();
    this.#take(w.agentId, w.ttl);
    const resolve = w.resolve;
    const value = w.wantsToken ? this.#token : true;
    this.#runtime.scheduler.deliver("grant", () => resolve(value), w.agentId);
  }
}
