import { ClosedError } from "../errors.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import { checkName, checkTimeout, type WaitOptions } from "../runtime/wait.js";
import { checkCount } from "./checks.js";
import type { BarrierSnapshot, SyncWaiterSnapshot } from "./snapshot.js";
import { Waiter } from "./wait-queue.js";

/** Options of the {@link Barrier} constructor. */
export interface BarrierOptions extends RuntimeOptions {
  /** Names the barrier in errors and trace records. @default "barrier" */
  name?: string | undefined;
}

type Arrivals = Map<string, Waiter<boolean>[]>;

/**
 * A cyclic barrier: waits until `requiredCount` distinct agents have arrived, then lets them
 * all through and starts a new generation.
 *
 * An agent waiting twice in one generation counts once, and all its waits get the result. A
 * waiter that times out or is aborted is withdrawn: once an agent has no wait left, it no
 * longer counts towards the trip.
 *
 * @example
 * ```ts
 * const phase = new Barrier(3);
 * await Promise.all(["a", "b", "c"].map((id) => phase.wait(id, { timeout: 5000 }))); // [true, true, true]
 * phase.generation; // 1
 * ```
 */
export class Barrier {
  readonly #requiredCount: number;
  readonly #name: string;
  readonly #runtime: Runtime;
  #arrivals: Arrivals = new Map();
  #generation = 0;
  #closed = false;

  /**
   * @param requiredCount - distinct agents needed to trip; an integer >= 1, else `ValidationError`.
   * @param opts - `clock` to read time from; `name` for errors and traces.
   */
  constructor(requiredCount: number, opts?: BarrierOptions) {
    checkCount(requiredCount, "requiredCount");
    this.#requiredCount = requiredCount;
    this.#name = opts?.name ?? "barrier";
    this.#runtime = resolveRuntime(opts);
  }

  /** The count given to the constructor. */
  get requiredCount(): number {
    return this.#requiredCount;
  }

  /** Starts at 0; increases by one at every trip and every {@link Barrier.reset}. */
  get generation(): number {
    return this.#generation;
  }

  /** Distinct agents counted in the current generation. */
  get arrived(): number {
    return this.#arrivals.size;
  }

  /**
   * The current generation and who has arrived in it, as plain data; reads only.
   * @param id - the id to report; the barrier's name by default.
   */
  snapshot(id: string = this.#name): BarrierSnapshot {
    const arrived: SyncWaiterSnapshot[] = [];
    for (const [agentId, mine] of this.#arrivals) arrived.push({ agentId, since: mine[0]?.since ?? this.#runtime.clock.now() });
    return { id, required: this.#requiredCount, arrived, generation: this.#generation };
  }

  /** Whether {@link Barrier.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Arrives at the barrier as `agentId` and waits for the current generation to trip.
   *
   * @returns `true` when `requiredCount` distinct agents have arrived in this generation;
   * `false` if `timeout` ms passed first (the agent is withdrawn) or the barrier was
   * {@link Barrier.reset}. Rejects with `signal.reason` when aborted (also withdrawn),
   * `ClosedError` when closed.
   * @example
   * ```ts
   * if (!(await barrier.wait("agent-1", { timeout: 1000 }))) console.log("the others did not come");
   * ```
   */
  async wait(agentId: string, opts?: WaitOptions): Promise<boolean> {
    if (this.#closed) throw new ClosedError(`barrier ${JSON.stringify(this.#name)}`);
    checkName(agentId, "agentId");
    const timeout = checkTimeout(opts?.timeout, "Barrier.wait");
    const signal = opts?.signal;
    if (signal?.aborted) throw signal.reason as Error;
    const arrivals = this.#arrivals;
    let mine = arrivals.get(agentId);
    if (mine === undefined) {
      if (arrivals.size + 1 >= this.#requiredCount) {
        this.#trip(agentId);
        return true;
      }
      mine = [];
      arrivals.set(agentId, mine);
    }
    if (timeout === 0) {
      if (mine.length === 0) arrivals.delete(agentId);
      return false;
    }
    const w = new Waiter<boolean>(agentId, undefined, false, this.#runtime.clock.now());
    mine.push(w);
    return w.arm(
      this.#runtime.timers,
      timeout,
      signal,
      () => this.#withdraw(w, false, undefined),
      (reason) => this.#withdraw(w, true, reason),
    );
  }

  /** Ends the current generation: its waiters get `false` and a new generation starts. */
  reset(): void {
    const waiters = this.#startGeneration();
    for (const w of waiters) w.resolve(false);
  }

  /**
   * Closes the barrier: every pending wait rejects with `ClosedError`, their timers are
   * cleared and later waits reject with `ClosedError`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiters = this.#startGeneration();
    if (waiters.length === 0) return;
    const error = new ClosedError(`barrier ${JSON.stringify(this.#name)}`);
    for (const w of waiters) w.reject(error);
  }

  #trip(lastAgent: string): void {
    const waiters = this.#startGeneration();
    this.#runtime.tracer?.record("barrier", lastAgent, undefined, this.#name, undefined, { generation: this.#generation });
    const scheduler = this.#runtime.scheduler;
    for (const w of waiters) {
      const resolve = w.resolve;
      scheduler.deliver("grant", () => resolve(true), w.agentId);
    }
  }

  // Swaps in an empty generation; returns the old one's waiters, already detached.
  #startGeneration(): Waiter<boolean>[] {
    const old = this.#arrivals;
    this.#arrivals = new Map();
    this.#generation++;
    const waiters: Waiter<boolean>[] = [];
    for (const list of old.values()) {
      for (const w of list) {
        w.detach();
        waiters.push(w);
      }
    }
    return waiters;
  }

  // A waiter that is no longer in the current generation (it tripped, was reset, or its
  // deadline fell due in the same timer batch as the step that ended it) is left alone.
  #withdraw(w: Waiter<boolean>, aborted: boolean, reason: unknown): void {
    const mine = this.#arrivals.get(w.agentId);
    if (mine === undefined) return;
    const i = mine.indexOf(w);
    if (i < 0) return;
    mine.splice(i, 1);
    if (mine.length === 0) this.#arrivals.delete(w.agentId);
    if (aborted) w.off = undefined;
    else w.deadline = undefined;
    w.detach();
    if (aborted) w.reject(reason);
    else w.resolve(false);
  }
}
