import { ClosedError, TimeoutError } from "../errors.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import type { Deadline, DeadlineOptions } from "../runtime/timer-queue.js";
import { checkName, checkTimeout } from "../runtime/wait.js";
import { checkTtl, RESOLVED_FALSE, RESOLVED_TRUE } from "./checks.js";
import { HeldScope, type LockScope } from "./lock-scope.js";
import type { LockTable } from "./lock-table.js";
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

/** Options of {@link Lock.withLock}. */
export interface WithLockOptions extends LockAcquireOptions {
  /**
   * Extends the lease (same fencing token) every `ttl / 2` ms while the function runs, so a
   * long function keeps the lock; if an extension fails, the scope's signal aborts. Without
   * a `ttl` there is no lease to extend and this does nothing.
   * @default false
   */
  autoRenew?: boolean | undefined;
}

/** @internal Options a {@link SynchronizationManager} passes to the locks it creates. */
interface LockOptions extends RuntimeOptions {
  /** @internal */
  table?: LockTable;
}

// Leases are bookkeeping: a lease nobody waits on must never keep the process alive.
const LEASE: DeadlineOptions = { keepAlive: false };

/**
 * A mutual-exclusion lock with FIFO waiters, fencing tokens and optional leases (the
 * textbook's `DistributedLock`).
 *
 * Every successful acquire increments {@link Lock.fencingToken}; pass the token to
 * {@link Lock.release} (and to whatever the lock protects) so that a holder whose lease expired
 * can never release, or write over, a newer holder's work. A waiter that timed out or was
 * aborted leaves the queue in the same step and is never handed the lock.
 *
 * A lock of a {@link SynchronizationManager} is forgotten by the manager while nobody holds or
 * waits for it; a `Lock` object kept from before still works and acts on the same lock as
 * the one `getLock` returns now (see {@link SynchronizationManager.getLock}).
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
  readonly #table: LockTable | undefined;
  /** In its manager's table (always true without a manager). */
  #attached = true;
  #holder: string | undefined = undefined;
  #token = 0;
  #lease: Deadline | undefined = undefined;
  #leaseUntil = 0;
  #leaseTtl = 0;
  #scope: HeldScope | undefined = undefined;
  #closed = false;

  /**
   * @param lockId - what the lock protects; names it in errors and trace records.
   * @param opts - `clock` to read time from (a `VirtualClock` in tests).
   */
  constructor(lockId: string, opts?: RuntimeOptions) {
    checkName(lockId, "lockId");
    this.#lockId = lockId;
    this.#runtime = resolveRuntime(opts);
    const table = (opts as LockOptions | undefined)?.table;
    this.#table = table;
    // Above every token a forgotten lock of the same manager issued: see LockTable.
    if (table !== undefined) this.#token = table.floor;
  }

  /** The id given to the constructor. */
  get lockId(): string {
    return this.#lockId;
  }

  /** The agent holding the lock, or `undefined` when it is free. */
  get holder(): string | undefined {
    return this.#view().#holder;
  }

  /**
   * The token of the latest successful acquire; starts at 0 and increases by one per acquire.
   * A lock of a {@link SynchronizationManager} that was forgotten while idle continues above
   * every token the manager's forgotten locks issued, so it may jump, never go back.
   */
  get fencingToken(): number {
    const lock = this.#view();
    const table = this.#table;
    return !lock.#attached && table !== undefined ? Math.max(lock.#token, table.floor) : lock.#token;
  }

  /** Number of acquires waiting in the queue. */
  get waiting(): number {
    return this.#view().#queue.size;
  }

  /** Whether {@link Lock.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Who holds the lock, until when, and who waits, as plain data; reads only.
   * @example
   * ```ts
   * const { holder, leaseRemaining, waiters } = lock.snapshot();
   * ```
   */
  snapshot(): LockSnapshot {
    const lock = this.#view();
    const lease = lock.#lease;
    return {
      id: this.#lockId,
      holder: lock.#holder,
      fencingToken: this.fencingToken,
      leaseRemaining: lease !== undefined && lease.active ? Math.max(0, lock.#leaseUntil - this.#runtime.clock.now()) : undefined,
      waiters: lock.#queue.describe(),
    };
  }

  /**
   * Acquires the lock for `agentId`, waiting in FIFO order behind earlier callers.
   *
   * Acquiring a lock `agentId` already holds renews it at once: `true`, a new fencing token
   * (the old one becomes stale) and the new `ttl` (none if none is given). To extend a lease
   * without a new token, use {@link Lock.extendLease}.
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
    const lock = this.#view();
    if (lock.#holder !== agentId || agentId === undefined) return false;
    if (fencingToken !== undefined && fencingToken !== lock.#token) return false;
    lock.#dropLease();
    lock.#handOver();
    return true;
  }

  /**
   * Extends the lease of the current holder to `ttl` ms from now, keeping its fencing token
   * (unlike acquiring again, which issues a new one). `ttl: Infinity` removes the lease.
   *
   * @returns `false` if `agentId` is not the holder or `fencingToken` is stale: the lease
   * already expired and the lock may be someone else's.
   * @throws ValidationError when `ttl` is not a number > 0.
   * @example
   * ```ts
   * if (!lock.extendLease("worker-1", token, 5000)) abandonWork();
   * ```
   */
  extendLease(agentId: string, fencingToken: number, ttl: number): boolean {
    const ms = checkTtl(ttl, "Lock.extendLease");
    const lock = this.#view();
    if (lock.#closed || lock.#holder !== agentId || fencingToken !== lock.#token) return false;
    lock.#dropLease();
    if (ms !== undefined) lock.#startLease(ms, fencingToken);
    return true;
  }

  /**
   * Runs `fn` while holding the lock and releases it afterwards, also when `fn` throws.
   * Unlike {@link Lock.acquire}, running out of time is an error.
   *
   * `fn` gets the fencing token and a {@link LockScope} whose `signal` aborts when the lock
   * stops protecting it: the lease expired (reason: `TimeoutError`), an `autoRenew` extension
   * failed, or the lock was closed (`ClosedError`); and when the caller's `signal` aborts.
   * If the lock was lost while `fn` ran, `withLock` rejects with that reason even when `fn`
   * returned normally: another holder may have run in between, so the result was not made
   * under the lock (an error thrown by `fn` itself is passed on unchanged instead).
   *
   * @returns what `fn` returns. Rejects with `TimeoutError` if the lock was not acquired
   * within `timeout` or its lease expired under `fn`, with `signal.reason` if aborted while
   * waiting, with `ClosedError` if closed.
   * @example
   * ```ts
   * await lock.withLock("planner", async (token, { signal }) => {
   *   const draft = await research({ signal });            // stops when the lease is lost
   *   await store.set("plan", draft, { by: `planner@${token}` });
   * }, { ttl: 10_000, autoRenew: true });
   * ```
   */
  async withLock<T>(
    agentId: string,
    fn: (fencingToken: number, scope: LockScope) => Promise<T> | T,
    opts?: WithLockOptions,
  ): Promise<T> {
    const { lock, token } = await this.#acquireForScope(agentId, opts);
    const scope = new HeldScope(token, opts?.signal);
    if (lock.#holder !== agentId || lock.#token !== token) {
      // The lease ran out between the grant and this continuation.
      throw lock.#leaseLost(agentId, token, opts?.ttl ?? 0);
    }
    lock.#scope = scope;
    const ttl = opts?.ttl;
    const stopRenewing = opts?.autoRenew === true && lock.#lease !== undefined && ttl !== undefined ? lock.#keepRenewing(agentId, scope, ttl) : undefined;
    try {
      const value = await fn(token, scope);
      if (scope.lost) throw scope.reason;
      return value;
    } finally {
      stopRenewing?.();
      scope.end();
      if (lock.#scope === scope) lock.#scope = undefined;
      lock.release(agentId, token);
    }
  }

  /**
   * Closes the lock: every pending acquire rejects with `ClosedError`, the lease timer is
   * cleared, the holder is dropped and later acquires reject with `ClosedError`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropLease();
    this.#holder = undefined;
    const error = new ClosedError(`lock ${JSON.stringify(this.#lockId)}`);
    this.#loseScope(error);
    const waiters = this.#queue.drain();
    for (const w of waiters) {
      w.detach();
      w.reject(error);
    }
  }

  // The lock whose state this object shows: itself, or, once its manager forgot it, the
  // lock now in the manager's table for the same id (if any). Reads never re-attach.
  #view(): Lock {
    if (this.#attached) return this;
    return this.#table?.get(this.#lockId) ?? this;
  }

  // The lock to act on: as #view, but a forgotten lock with no successor rejoins the table,
  // its token raised to the table's floor, so an id has one live lock at any time.
  #live(): Lock {
    if (this.#attached) return this;
    const table = this.#table!;
    if (table.closed) throw new ClosedError("synchronization manager");
    const current = table.get(this.#lockId);
    if (current !== undefined) return current;
    if (this.#token < table.floor) this.#token = table.floor;
    this.#attached = true;
    table.add(this);
    return this;
  }

  async #acquireForScope(agentId: string, opts: WithLockOptions | undefined): Promise<{ lock: Lock; token: number }> {
    const pending = this.#acquire(agentId, opts, true);
    // Right after the call, the lock acted on is the live one for the id (held or waited for).
    const lock = this.#view();
    const got = await pending;
    if (got === false) {
      throw new TimeoutError(`acquiring lock ${JSON.stringify(this.#lockId)} for ${JSON.stringify(agentId)}`, opts?.timeout ?? 0);
    }
    return { lock, token: got as number };
  }

  // Checks the arguments, then takes the lock or queues on the live lock for this id.
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
    return this.#live().#enter(agentId, ttl, timeout, signal, wantsToken);
  }

  #enter(agentId: string, ttl: number | undefined, timeout: number | undefined, signal: AbortSignal | undefined, wantsToken: boolean): Promise<boolean | number> {
    if (this.#closed) throw new ClosedError(`lock ${JSON.stringify(this.#lockId)}`);
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
    this.#dropLease();
    if (ttl !== undefined) this.#startLease(ttl, token);
    this.#runtime.tracer?.record("lock", agentId, undefined, this.#lockId, undefined, { token });
  }

  #startLease(ttl: number, token: number): void {
    this.#leaseTtl = ttl;
    this.#leaseUntil = this.#runtime.clock.now() + ttl;
    this.#lease = this.#runtime.timers.add(ttl, () => this.#expire(token), LEASE);
  }

  #dropLease(): void {
    if (this.#lease !== undefined) {
      this.#lease.cancel();
      this.#lease = undefined;
    }
  }

  #expire(token: number): void {
    if (token !== this.#token) return;
    this.#lease = undefined;
    const holder = this.#holder;
    this.#runtime.tracer?.record("lock-expired", holder, undefined, this.#lockId, undefined, { token });
    if (this.#scope?.token === token) this.#loseScope(this.#leaseLost(holder, token, this.#leaseTtl));
    this.#handOver();
  }

  #leaseLost(agentId: string | undefined, token: number, ttl: number): TimeoutError {
    return new TimeoutError(`lease of lock ${JSON.stringify(this.#lockId)} held by ${JSON.stringify(agentId)} (fencing token ${token})`, ttl);
  }

  #loseScope(reason: unknown): void {
    const scope = this.#scope;
    if (scope === undefined) return;
    this.#scope = undefined;
    scope.lose(reason);
  }

  // Extends the lease every ttl / 2 while the scope runs; the timer never keeps the process
  // alive (the function's own work does). Returns the canceller.
  #keepRenewing(agentId: string, scope: HeldScope, ttl: number): () => void {
    const interval = ttl / 2;
    let next: Deadline | undefined;
    const tick = (): void => {
      next = undefined;
      if (scope.lost) return;
      if (this.#closed) return scope.lose(new ClosedError(`lock ${JSON.stringify(this.#lockId)}`));
      if (!this.extendLease(agentId, scope.token, ttl)) return scope.lose(this.#leaseLost(agentId, scope.token, ttl));
      next = this.#runtime.timers.add(interval, tick, LEASE);
    };
    next = this.#runtime.timers.add(interval, tick, LEASE);
    return () => next?.cancel();
  }

  // The next live waiter becomes holder now (its deadline and listener dropped in this same
  // step); only the notification of its promise goes through the scheduler. With nobody to
  // hand over to, a manager's lock leaves its table.
  #handOver(): void {
    const w = this.#queue.shift();
    if (w === undefined) {
      this.#holder = undefined;
      const table = this.#table;
      if (table !== undefined && this.#attached && !this.#closed) {
        this.#attached = false;
        table.forget(this, this.#token);
      }
      return;
    }
    w.detach();
    this.#take(w.agentId, w.ttl);
    const resolve = w.resolve;
    const value = w.wantsToken ? this.#token : true;
    this.#runtime.scheduler.deliver("grant", () => resolve(value), w.agentId);
  }
}
