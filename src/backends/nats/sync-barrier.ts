import { ClosedError } from "../../errors.js";
import type { Runtime } from "../../runtime/runtime.js";
import { checkName, checkTimeout, type WaitOptions } from "../../runtime/wait.js";
import { Barrier } from "../../sync/barrier.js";
import type { BarrierSnapshot } from "../../sync/snapshot.js";
import { Waiter } from "../../sync/wait-queue.js";
import type { SyncRecord, SyncTable } from "./sync-table.js";
import type { SyncWork } from "./sync-work.js";

/** One arrival in a barrier record. */
interface Arrival {
  readonly agent: string;
  readonly owner: string;
  readonly since: number;
}

/** How a generation ended. */
type End = readonly [generation: number, outcome: "trip" | "reset"];

/** A barrier's record in the sync bucket. */
export interface BarrierValue {
  readonly required: number;
  readonly generation: number;
  readonly arrived: readonly Arrival[];
  /** How the latest generations ended, newest last (bounded). */
  readonly ends: readonly End[];
}

/** Generations whose end is remembered for waiters that learn of it late. */
const ENDS_KEPT = 32;

/** An agent of this process arrived in a generation, with its pending waits. */
interface LocalArrival {
  /** The generation it counts in; undefined until its arrival is written. */
  generation: number | undefined;
  /** Settles once the arrival is written (or failed). */
  written: Promise<void>;
  readonly waiters: Waiter<boolean>[];
}

/**
 * A {@link Barrier} shared by every process of a NATS mesh: the record holds the generation,
 * who arrived (agent and process), and how recent generations ended. The arrival that completes
 * the count trips the barrier in the same revision-checked write. A waiter that times out is
 * withdrawn with a write too, and learns from that write whether the barrier tripped first
 * (then it gets `true`). Arrivals of a process that is gone stop counting.
 * @internal
 */
export class NatsBarrier extends Barrier {
  readonly #id: string;
  readonly #key: string;
  readonly #required: number;
  readonly #table: SyncTable;
  readonly #rt: Runtime;
  readonly #work: SyncWork;
  readonly #local = new Map<string, LocalArrival>();
  #off: (() => void) | undefined;
  #closed = false;

  constructor(id: string, required: number, table: SyncTable, runtime: Runtime, work: SyncWork) {
    super(required, { runtime, name: id });
    this.#id = id;
    this.#key = `bar:${id}`;
    this.#required = required;
    this.#table = table;
    this.#rt = runtime;
    this.#work = work;
  }

  /** The count a barrier record under `id` was created with, if one exists. */
  static existingCount(table: SyncTable, id: string): number | undefined {
    return table.get<BarrierValue>(`bar:${id}`)?.value.required;
  }

  override get requiredCount(): number {
    return this.#required;
  }

  override get generation(): number {
    return this.#record()?.value.generation ?? 0;
  }

  override get arrived(): number {
    return this.#live(this.#record()).length;
  }

  override get closed(): boolean {
    return this.#closed;
  }

  override snapshot(id: string = this.#id): BarrierSnapshot {
    const rec = this.#record();
    return {
      id,
      required: this.#required,
      arrived: this.#live(rec).map((a) => ({ agentId: a.agent, since: a.since })),
      generation: rec?.value.generation ?? 0,
    };
  }

  override async wait(agentId: string, opts?: WaitOptions): Promise<boolean> {
    if (this.#closed) throw new ClosedError(`barrier ${JSON.stringify(this.#id)}`);
    checkName(agentId, "agentId");
    const timeout = checkTimeout(opts?.timeout, "Barrier.wait");
    const signal = opts?.signal;
    if (signal?.aborted === true) throw signal.reason as Error;
    this.#listen();
    let local = this.#local.get(agentId);
    // An agent with no wait left is being withdrawn: a new wait is a new arrival.
    const first = local === undefined || local.waiters.length === 0;
    if (local === undefined || first) this.#local.set(agentId, (local = { generation: undefined, waiters: [], written: Promise.resolve() }));
    const w = new Waiter<boolean>(agentId, undefined, false, this.#rt.clock.now());
    local.waiters.push(w);
    const promise = w.arm(this.#rt.timers, timeout === 0 ? undefined : timeout, signal, () => this.#withdraw(w, false, undefined), (reason) => this.#withdraw(w, true, reason));
    if (first) this.#arrive(agentId, local);
    if (timeout === 0 && first) {
      // Try once: unless this arrival tripped the barrier, withdraw at once.
      const mine = local;
      this.#work.track(mine.written.then(() => this.#withdraw(w, false, undefined)));
    }
    return promise;
  }

  override reset(): void {
    this.#work.track(
      this.#table.modify<BarrierValue>(this.#key, (rec) => {
        const g = rec?.value.generation ?? 0;
        return { set: { required: rec?.value.required ?? this.#required, generation: g + 1, arrived: [], ends: pushEnd(rec?.value.ends, [g, "reset"]) } };
      }),
    );
  }

  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ClosedError(`barrier ${JSON.stringify(this.#id)}`);
    for (const [agentId, local] of [...this.#local]) {
      this.#local.delete(agentId);
      for (const w of local.waiters) {
        w.detach();
        w.reject(error);
      }
      // Withdrawn on the mesh too (tracked: shutdown waits for it).
      if (local.generation !== undefined) void this.#remove(agentId, local.generation);
    }
    this.#off?.();
    this.#off = undefined;
  }

  #record(): SyncRecord<BarrierValue> | undefined {
    return this.#table.get<BarrierValue>(this.#key);
  }

  #live(rec: SyncRecord<BarrierValue> | undefined): Arrival[] {
    if (rec === undefined) return [];
    return rec.value.arrived.filter((a) => this.#table.alive(a.owner));
  }

  #listen(): void {
    if (this.#off !== undefined) return;
    this.#off = this.#table.onChange(this.#key, () => this.#check());
  }

  // Writes the arrival (or trips the barrier with it).
  #arrive(agentId: string, local: LocalArrival): void {
    const owner = this.#table.processId;
    const since = this.#rt.clock.now();
    const write = this.#table
      .modify<BarrierValue>(this.#key, (rec) => {
        const g = rec?.value.generation ?? 0;
        const live = this.#live(rec);
        if (live.some((a) => a.agent === agentId && a.owner === owner)) return undefined;
        const required = rec?.value.required ?? this.#required;
        if (live.length + 1 >= required) {
          return { set: { required, generation: g + 1, arrived: [], ends: pushEnd(rec?.value.ends, [g, "trip"]) } };
        }
        return { set: { required, generation: g, arrived: [...live, { agent: agentId, owner, since }], ends: rec?.value.ends ?? [] } };
      })
      .then(({ value }) => {
        if (value === undefined) return;
        const tripped = value.arrived.length === 0 && value.ends.at(-1)?.[1] === "trip";
        local.generation = tripped ? value.generation - 1 : value.generation;
        if (tripped) this.#rt.tracer?.record("barrier", agentId, undefined, this.#id, undefined, { generation: value.generation });
        this.#check();
      })
      .catch((error: unknown) => {
        // The arrival could not be written (connection lost): its waits fail with the reason.
        if (this.#local.get(agentId) === local) this.#local.delete(agentId);
        for (const w of local.waiters.splice(0)) {
          w.detach();
          w.reject(error);
        }
      });
    local.written = write.catch(() => undefined);
    this.#work.track(write);
  }

  // Ends the local waits whose generation is over, with how it ended.
  #check(): void {
    const rec = this.#record();
    const current = rec?.value.generation ?? 0;
    for (const [agentId, local] of [...this.#local]) {
      const g = local.generation;
      if (g === undefined || g >= current) continue;
      this.#local.delete(agentId);
      const end = rec?.value.ends.find(([gen]) => gen === g);
      const value = end?.[1] === "trip";
      for (const w of local.waiters) {
        w.detach();
        const resolve = w.resolve;
        this.#rt.scheduler.deliver("grant", () => resolve(value), agentId);
      }
    }
    if (this.#local.size === 0) this.#unlisten();
  }

  // A wait that timed out or was aborted. The last wait of an agent withdraws its arrival; the
  // write tells whether the barrier tripped first, and then a timed-out waiter gets true.
  #withdraw(w: Waiter<boolean>, aborted: boolean, reason: unknown): void {
    const local = this.#local.get(w.agentId);
    if (local === undefined) return;
    const i = local.waiters.indexOf(w);
    if (i < 0) return;
    local.waiters.splice(i, 1);
    w.detach();
    if (aborted) w.reject(reason);
    if (local.waiters.length > 0) {
      if (!aborted) w.resolve(false);
      return;
    }
    const agentId = w.agentId;
    this.#work.track(
      (async () => {
        await local.written;
        const g = local.generation;
        let tripped = false;
        if (g !== undefined) {
          // Still this agent's arrival (no new wait took it over): take it back.
          const { changed } = this.#local.get(agentId) === local ? await this.#remove(agentId, g) : { changed: false };
          if (this.#local.get(agentId) === local && local.waiters.length === 0) this.#local.delete(agentId);
          if (!changed) tripped = this.#endOf(g) === "trip";
        }
        if (!aborted) w.resolve(tripped);
        if (this.#local.size === 0) this.#unlisten();
      })(),
    );
  }

  #endOf(generation: number): "trip" | "reset" | undefined {
    const rec = this.#record();
    if (rec === undefined || rec.value.generation <= generation) return undefined;
    return rec.value.ends.find(([g]) => g === generation)?.[1];
  }

  #unlisten(): void {
    this.#off?.();
    this.#off = undefined;
  }

  #remove(agentId: string, generation: number): Promise<{ changed: boolean }> {
    const owner = this.#table.processId;
    const p = this.#table.modify<BarrierValue>(this.#key, (rec) => {
      if (rec === undefined || rec.value.generation !== generation) return undefined;
      const arrived = rec.value.arrived.filter((a) => !(a.agent === agentId && a.owner === owner));
      return arrived.length === rec.value.arrived.length ? undefined : { set: { ...rec.value, arrived } };
    });
    this.#work.track(p);
    return p;
  }
}

function pushEnd(ends: readonly End[] | undefined, end: End): End[] {
  const out = [...(ends ?? []), end];
  return out.length > ENDS_KEPT ? out.slice(out.length - ENDS_KEPT) : out;
}
