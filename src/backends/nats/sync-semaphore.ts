import { ClosedError } from "../../errors.js";
import type { Runtime } from "../../runtime/runtime.js";
import type { Deadline } from "../../runtime/timer-queue.js";
import { checkName, checkTimeout, type WaitOptions } from "../../runtime/wait.js";
import { Semaphore } from "../../sync/semaphore.js";
import type { SemaphoreSnapshot } from "../../sync/snapshot.js";
import { Waiter, WaitQueue } from "../../sync/wait-queue.js";
import type { SyncRecord, SyncTable } from "./sync-table.js";
import type { SyncWork } from "./sync-work.js";

/** One holder's permits in a semaphore record. */
interface Holding {
  readonly agent: string;
  readonly owner: string;
  readonly n: number;
}

/** A semaphore's record in the sync bucket. */
export interface SemaphoreValue {
  readonly permits: number;
  readonly holders: readonly Holding[];
}

const BOOKKEEPING = { keepAlive: false } as const;

/**
 * A {@link Semaphore} shared by every process of a NATS mesh: the record lists who holds how
 * many permits; acquiring and releasing are revision-checked writes. Waiters are FIFO within a
 * process; permits held by a process that is gone (heartbeat stopped) stop counting and are
 * dropped by the next write. `release` answers at once from what this process holds and writes
 * behind; `available` counts such a release at once.
 * @internal
 */
export class NatsSemaphore extends Semaphore {
  readonly #id: string;
  readonly #key: string;
  readonly #permits: number;
  readonly #table: SyncTable;
  readonly #rt: Runtime;
  readonly #work: SyncWork;
  readonly #queue = new WaitQueue<boolean>();
  /** Permits this process holds, by agent. */
  readonly #mine = new Map<string, number>();
  /** Releases written behind, not yet in the mirror. */
  #releasing = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #busy = false;
  #recheck: Deadline | undefined;
  #off: (() => void) | undefined;
  #closed = false;

  constructor(id: string, permits: number, table: SyncTable, runtime: Runtime, work: SyncWork) {
    super(permits, { runtime, name: id });
    this.#id = id;
    this.#key = `sem:${id}`;
    this.#permits = permits;
    this.#table = table;
    this.#rt = runtime;
    this.#work = work;
  }

  /** The permits a semaphore record under `id` was created with, if one exists. */
  static existingPermits(table: SyncTable, id: string): number | undefined {
    return table.get<SemaphoreValue>(`sem:${id}`)?.value.permits;
  }

  override get maxPermits(): number {
    return this.#permits;
  }

  override get available(): number {
    return Math.min(this.#permits, Math.max(0, this.#permits - this.#used(this.#table.get<SemaphoreValue>(this.#key)) + this.#releasing));
  }

  /** Acquires waiting in this process. */
  override get waiting(): number {
    return this.#queue.size;
  }

  override get closed(): boolean {
    return this.#closed;
  }

  override snapshot(id: string = this.#id): SemaphoreSnapshot {
    const holders = new Map<string, number>();
    for (const h of this.#live(this.#table.get<SemaphoreValue>(this.#key))) holders.set(h.agent, (holders.get(h.agent) ?? 0) + h.n);
    return {
      id,
      permits: this.#permits,
      available: this.available,
      holders: [...holders].map(([agentId, permits]) => ({ agentId, permits })),
      waiters: this.#queue.describe(),
    };
  }

  /** Permits `agentId` holds in this process. */
  override heldBy(agentId: string): number {
    return this.#mine.get(agentId) ?? 0;
  }

  override acquire(agentId: string, opts?: WaitOptions): Promise<boolean> {
    try {
      if (this.#closed) throw new ClosedError(`semaphore ${JSON.stringify(this.#id)}`);
      checkName(agentId, "agentId");
      const timeout = checkTimeout(opts?.timeout, "Semaphore.acquire");
      const signal = opts?.signal;
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
      const w = new Waiter<boolean>(agentId, undefined, false, this.#rt.clock.now());
      this.#queue.push(w);
      const promise = w.arm(this.#rt.timers, timeout, signal, () => this.#giveUp(w, false), (reason) => this.#giveUp(w, reason, true));
      if (this.#off === undefined) {
        const offChange = this.#table.onChange(this.#key, () => this.#pump());
        const offPresence = this.#table.onPresence(() => this.#pump());
        this.#off = () => {
          offChange();
          offPresence();
        };
      }
      this.#pump();
      return promise;
    } catch (error) {
      // Only covey errors are thrown above (signal reasons are returned, not thrown).
      const e = error as Error;
      return Promise.reject(e);
    }
  }

  override release(agentId: string): boolean {
    const n = this.#mine.get(agentId) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.#mine.delete(agentId);
    else this.#mine.set(agentId, n - 1);
    this.#releasing++;
    this.#serial(async () => {
      try {
        await this.#table.modify<SemaphoreValue>(this.#key, (rec) => {
          if (rec === undefined) return undefined;
          const owner = this.#table.processId;
          const holders = this.#live(rec).flatMap((h) => (h.agent === agentId && h.owner === owner ? (h.n > 1 ? [{ ...h, n: h.n - 1 }] : []) : [h]));
          return { set: { permits: rec.value.permits, holders } };
        });
      } finally {
        this.#releasing--;
      }
      this.#pump();
    });
    return true;
  }

  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ClosedError(`semaphore ${JSON.stringify(this.#id)}`);
    for (const w of this.#queue.drain()) {
      w.detach();
      w.reject(error);
    }
    this.#recheck?.cancel();
    this.#off?.();
    this.#off = undefined;
    // What this process still holds goes back to the mesh.
    for (const [agentId, n] of [...this.#mine]) for (let i = 0; i < n; i++) this.release(agentId);
  }

  #live(rec: SyncRecord<SemaphoreValue> | undefined): Holding[] {
    if (rec === undefined) return [];
    return rec.value.holders.filter((h) => this.#table.alive(h.owner));
  }

  #used(rec: SyncRecord<SemaphoreValue> | undefined): number {
    let used = 0;
    for (const h of this.#live(rec)) used += h.n;
    return used;
  }

  #giveUp(w: Waiter<boolean>, outcome: unknown, aborted = false): void {
    if (!w.queued) return;
    this.#queue.remove(w);
    w.detach();
    if (aborted) w.reject(outcome);
    else w.resolve(false);
  }

  #pump(): void {
    if (this.#closed || this.#busy) return;
    const w = this.#queue.first;
    if (w === undefined) {
      this.#off?.();
      this.#off = undefined;
      return;
    }
    this.#recheck?.cancel();
    this.#recheck = undefined;
    const rec = this.#table.get<SemaphoreValue>(this.#key);
    if (this.#used(rec) < this.#permits) {
      void this.#take(w);
      return;
    }
    // Full: look again when the first holder of another process would be judged gone.
    const now = this.#rt.clock.now();
    let next = Infinity;
    for (const h of this.#live(rec)) next = Math.min(next, this.#table.goneAt(h.owner));
    if (next !== Infinity) this.#recheck = this.#rt.timers.add(Math.max(0, next - now), () => this.#pump(), BOOKKEEPING);
  }

  async #take(w: Waiter<boolean>): Promise<void> {
    this.#busy = true;
    const owner = this.#table.processId;
    let granted: boolean;
    try {
      const result = await this.#table.modify<SemaphoreValue>(this.#key, (rec) => {
        const live = this.#live(rec);
        let used = 0;
        for (const h of live) used += h.n;
        if (used >= this.#permits) return undefined;
        const holders = [...live];
        const i = holders.findIndex((h) => h.agent === w.agentId && h.owner === owner);
        if (i >= 0) holders[i] = { ...holders[i]!, n: holders[i]!.n + 1 };
        else holders.push({ agent: w.agentId, owner, n: 1 });
        return { set: { permits: rec?.value.permits ?? this.#permits, holders } };
      });
      granted = result.changed;
    } catch {
      // Could not write (connection lost): try again shortly, within the waiter's deadline.
      this.#busy = false;
      if (!this.#closed) this.#recheck = this.#rt.timers.add(250, () => this.#pump(), BOOKKEEPING);
      return;
    }
    this.#busy = false;
    if (granted) {
      this.#mine.set(w.agentId, (this.#mine.get(w.agentId) ?? 0) + 1);
      this.#rt.tracer?.record("semaphore", w.agentId, undefined, this.#id, undefined, { available: this.available });
      if (w.queued) {
        this.#queue.remove(w);
        w.detach();
        const resolve = w.resolve;
        this.#rt.scheduler.deliver("grant", () => resolve(true), w.agentId);
      } else {
        // Gave up while the write was on the way: give the permit back.
        this.release(w.agentId);
      }
    }
    this.#pump();
  }

  #serial(op: () => Promise<void>): void {
    const next = this.#chain.then(op);
    this.#chain = next.catch(() => undefined);
    this.#work.track(next);
  }
}
