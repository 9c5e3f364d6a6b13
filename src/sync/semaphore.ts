import { ClosedError } from "../errors.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import { checkName, checkTimeout, type WaitOptions } from "../runtime/wait.js";
import { checkCount, RESOLVED_FALSE, RESOLVED_TRUE } from "./checks.js";
import { createHoldings, type Holdings } from "./holdings.js";
import type { SemaphoreSnapshot } from "./snapshot.js";
import { Waiter, WaitQueue } from "./wait-queue.js";

/** Options of the {@link Semaphore} constructor. */
export interface SemaphoreOptions extends RuntimeOptions {
  /** Names the semaphore in errors and trace records. @default "semaphore" */
  name?: string | undefined;
}

/**
 * A counting semaphore: at most `maxPermits` permits are held at once, waiters are served in
 * FIFO order, and an agent may hold several permits (each acquire takes one, each release
 * gives one back).
 *
 * @example
 * ```ts
 * const gpu = new Semaphore(2);
 * if (await gpu.acquire("trainer-1", { timeout: 1000 })) {
 *   try { await train(); } finally { gpu.release("trainer-1"); }
 * }
 * ```
 */
export class Semaphore {
  readonly #maxPermits: number;
  readonly #name: string;
  readonly #runtime: Runtime;
  readonly #queue = new WaitQueue<boolean>();
  readonly #held: Holdings;
  #inUse = 0;
  #closed = false;

  /**
   * @param maxPermits - how many permits exist; an integer >= 1, else `ValidationError`.
   * @param opts - `clock` to read time from; `name` for errors and traces.
   */
  constructor(maxPermits: number, opts?: SemaphoreOptions) {
    checkCount(maxPermits, "maxPermits");
    this.#maxPermits = maxPermits;
    this.#held = createHoldings(maxPermits);
    this.#name = opts?.name ?? "semaphore";
    this.#runtime = resolveRuntime(opts);
  }

  /** The number of permits given to the constructor. */
  get maxPermits(): number {
    return this.#maxPermits;
  }

  /** Permits not held by anyone right now. */
  get available(): number {
    return this.#maxPermits - this.#inUse;
  }

  /** Number of acquires waiting in the queue. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** Whether {@link Semaphore.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Who holds permits and who waits, as plain data; reads only.
   * @param id - the id to report; the semaphore's name by default.
   */
  snapshot(id: string = this.#name): SemaphoreSnapshot {
    return {
      id,
      permits: this.#maxPermits,
      available: this.#maxPermits - this.#inUse,
      holders: this.#held.entries(),
      waiters: this.#queue.describe(),
    };
  }

  /** How many permits `agentId` holds. */
  heldBy(agentId: string): number {
    return this.#held.count(agentId);
  }

  /**
   * Takes one permit for `agentId`, waiting in FIFO order while none is available.
   *
   * @returns `true` once a permit is held; `false` if `timeout` ms passed first
   * (`timeout: 0` tries once). Rejects with `signal.reason` when aborted, `ClosedError` when
   * the semaphore is closed.
   * @example
   * ```ts
   * const ok = await sem.acquire("worker-1", { timeout: 500 });
   * ```
   */
  acquire(agentId: string, opts?: WaitOptions): Promise<boolean> {
    // Not `async`, for the same reason as Lock.acquire: no extra promise on the hot path,
    // errors still come back as rejections.
    try {
      return this.#acquire(agentId, opts);
    } catch (err) {
      // Only covey errors are thrown above (signal reasons are returned, not thrown).
      const error = err as Error;
      return Promise.reject(error);
    }
  }

  /**
   * Gives back one permit held by `agentId`; the next waiter, if any, gets it at once.
   * @returns `false` if `agentId` holds no permit.
   */
  release(agentId: string): boolean {
    if (!this.#held.remove(agentId)) return false;
    this.#inUse--;
    const w = this.#queue.shift();
    if (w !== undefined) {
      w.detach();
      this.#take(w.agentId);
      const resolve = w.resolve;
      this.#runtime.scheduler.deliver("grant", () => resolve(true), w.agentId);
    }
    return true;
  }

  /**
   * Closes the semaphore: every pending acquire rejects with `ClosedError`, their timers are
   * cleared, held permits are dropped and later acquires reject with `ClosedError`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.clear();
    this.#inUse = 0;
    const waiters = this.#queue.drain();
    if (waiters.length === 0) return;
    const error = new ClosedError(`semaphore ${JSON.stringify(this.#name)}`);
    for (const w of waiters) {
      w.detach();
      w.reject(error);
    }
  }

  #acquire(agentId: string, opts: WaitOptions | undefined): Promise<boolean> {
    if (this.#closed) throw new ClosedError(`semaphore ${JSON.stringify(this.#name)}`);
    checkName(agentId, "agentId");
    let timeout: number | undefined;
    let signal: AbortSignal | undefined;
    if (opts !== undefined) {
      timeout = checkTimeout(opts.timeout, "Semaphore.acquire");
      signal = opts.signal;
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
    }
    // Nobody waits while a permit is free: a release hands its permit over in the same step.
    if (this.#inUse < this.#maxPermits) {
      this.#take(agentId);
      return RESOLVED_TRUE;
    }
    if (timeout === 0) return RESOLVED_FALSE;
    const w = new Waiter<boolean>(agentId, undefined, false, this.#runtime.clock.now());
    this.#queue.push(w);
    return w.arm(this.#runtime.timers, timeout, signal, () => this.#timeOut(w), (reason) => this.#abort(w, reason));
  }

  // Decided in one synchronous step: the waiter leaves the queue as it is failed, so a release
  // in the same tick can only find the next live waiter. A waiter already granted is left
  // alone: its deadline may still run when it fell due in the same timer batch as the grant.
  #timeOut(w: Waiter<boolean>): void {
    if (!w.queued) return;
    w.deadline = undefined;
    this.#queue.remove(w);
    w.detach();
    w.resolve(false);
  }

  #abort(w: Waiter<boolean>, reason: unknown): void {
    if (!w.queued) return;
    w.off = undefined;
    this.#queue.remove(w);
    w.detach();
    w.reject(reason);
  }

  #take(agentId: string): void {
    this.#inUse++;
    this.#held.add(agentId);
    this.#runtime.tracer?.record("semaphore", agentId, undefined, this.#name, undefined, { available: this.#maxPermits - this.#inUse });
  }
}
