import { ClosedError, VersionConflictError } from "../../errors.js";
import type { Runtime } from "../../runtime/runtime.js";
import type { Deadline } from "../../runtime/timer-queue.js";
import type { StateChange } from "../../state/types.js";
import type { NatsStateStore } from "./kv-store.js";

/** One record of the sync bucket as this process last saw it. @internal */
export interface SyncRecord<V> {
  readonly value: V;
  /** The KV revision of the record. */
  readonly version: number;
  /** This process's clock when it first saw this revision: where durations are measured from. */
  readonly seenAt: number;
}

/** What `modify` does with a record: write this value, delete the key, or leave it alone. @internal */
export type Edit<V> = { readonly set: V } | { readonly delete: true } | undefined;

/** A presence record: a process's heartbeat. */
interface Presence {
  /** Heartbeat interval of that process, ms. */
  readonly every: number;
  readonly beat: number;
}

const PRESENCE = "proc:";
/** Heartbeats a process may miss before the others judge it gone. */
const MISSED_BEATS = 3;

/**
 * How long others wait past a duration before acting on it: clocks may run at rates up to 1%
 * apart, and a watch delivery may be late by a moment. Durations are only ever measured on one
 * machine's clock, never compared across machines, so clock offsets do not matter.
 * @internal
 */
export function grace(ms: number): number {
  return ms * 1.01 + 100;
}

/**
 * The mesh's sync bucket as one process sees it: a mirror of every record (locks, semaphores,
 * barriers, process heartbeats) kept current by one watch, revision-checked writes, and the
 * liveness of every process judged from its heartbeats.
 *
 * Liveness rule: a process writes `proc:<id>` every `heartbeatMs`. Another process judges it
 * gone once its key is deleted, or once the record stayed unchanged for three of its intervals
 * (plus {@link grace}) counted from when this process first saw that revision. The process
 * itself gives up everything it holds when three intervals passed since it *sent* its last
 * acknowledged heartbeat, which is always earlier: so no holder can be judged gone while it
 * still believes it holds, whatever the clocks of the two machines say.
 * @internal
 */
export class SyncTable {
  readonly #store: NatsStateStore;
  readonly #processId: string;
  #runtime: Runtime | undefined;
  readonly #records = new Map<string, SyncRecord<unknown>>();
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #presenceListeners = new Set<() => void>();
  readonly #catchUp = new Map<string, Set<() => void>>();
  /** The highest bucket revision the mirror has applied. */
  #applied = 0;
  #upTo: { version: number; resolve: () => void }[] = [];
  readonly #selfLostListeners = new Set<() => void>();
  #stopWatch: (() => void) | undefined;
  #heartbeat: Deadline | undefined;
  #selfCheck: Deadline | undefined;
  #selfUntil = Infinity;
  #beat = 0;
  #every = 1000;
  #closed = false;

  constructor(store: NatsStateStore, processId: string) {
    this.#store = store;
    this.#processId = processId;
  }

  /** This process's id on the mesh. */
  get processId(): string {
    return this.#processId;
  }

  /** Starts mirroring the bucket; resolves once every current record is in the mirror. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#stopWatch = this.#store.watch("*", (change) => this.#apply(change), { includeCurrent: true, onReady: resolve });
    });
  }

  /** Starts this process's heartbeat on the system's runtime. */
  attach(runtime: Runtime, heartbeatMs: number): void {
    this.#runtime = runtime;
    // Durations are measured on the system's clock from now on: what was seen before counts as
    // seen now (later, never earlier, than it was).
    const now = runtime.clock.now();
    for (const [key, rec] of this.#records) this.#records.set(key, { ...rec, seenAt: now });
    this.#every = heartbeatMs;
    void this.#sendHeartbeat();
  }

  get #now(): number {
    return this.#runtime?.clock.now() ?? Date.now();
  }

  /** The record under `key`, if any. */
  get<V>(key: string): SyncRecord<V> | undefined {
    return this.#records.get(key) as SyncRecord<V> | undefined;
  }

  /** Records whose key starts with `prefix`. */
  *entries(prefix: string): IterableIterator<[string, SyncRecord<unknown>]> {
    for (const entry of this.#records) if (entry[0].startsWith(prefix)) yield entry;
  }

  /** Calls `fn` after every change of `key` reaches the mirror. @returns the remover. */
  onChange(key: string, fn: () => void): () => void {
    let set = this.#listeners.get(key);
    if (set === undefined) this.#listeners.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#listeners.get(key) === set) this.#listeners.delete(key);
    };
  }

  /** Calls `fn` whenever some process's heartbeat record changes or disappears. */
  onPresence(fn: () => void): () => void {
    this.#presenceListeners.add(fn);
    return () => this.#presenceListeners.delete(fn);
  }

  /** Calls `fn` when this process could not renew its heartbeat in time: what it holds is lost. */
  onSelfLost(fn: () => void): () => void {
    this.#selfLostListeners.add(fn);
    return () => this.#selfLostListeners.delete(fn);
  }

  /**
   * When process `owner` is, or will be, judged gone on this process's clock: `-Infinity`
   * when it has no heartbeat record, `Infinity` for this process while its heartbeat holds.
   */
  goneAt(owner: string): number {
    if (owner === this.#processId) return this.#selfUntil > this.#now ? Infinity : -Infinity;
    const rec = this.get<Presence>(PRESENCE + owner);
    if (rec === undefined) return -Infinity;
    const every = typeof rec.value.every === "number" && rec.value.every > 0 ? rec.value.every : 1000;
    return rec.seenAt + grace(every * MISSED_BEATS);
  }

  /** Whether process `owner` still counts as alive now. */
  alive(owner: string): boolean {
    return this.goneAt(owner) > this.#now;
  }

  /**
   * Resolves once the mirror has applied every change up to revision `version` of the bucket.
   * Revisions are bucket-wide and the watch applies them in order, so this also holds when
   * the key was deleted again since (its record is then simply gone).
   */
  async caughtUp(version: number): Promise<void> {
    if (this.#applied >= version) return;
    if (this.#closed) throw new ClosedError("sync table");
    await new Promise<void>((resolve) => this.#upTo.push({ version, resolve }));
  }

  /**
   * Revision-checked read-modify-write on the mirror: `edit` decides from the record as last
   * seen; on a conflict the mirror is caught up to the version that won and `edit` decides
   * again. Resolves with the written record's version (0 for a delete or no change).
   */
  async modify<V>(key: string, edit: (rec: SyncRecord<V> | undefined) => Edit<V>): Promise<{ version: number; value: V | undefined; changed: boolean }> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ClosedError("sync table");
      const rec = this.get<V>(key);
      const change = edit(rec);
      if (change === undefined) return { version: rec?.version ?? 0, value: rec?.value, changed: false };
      const expected = rec?.version ?? 0;
      try {
        if ("delete" in change) {
          if (rec === undefined) return { version: 0, value: undefined, changed: false };
          await this.#store.delete(key, { expectedVersion: expected, by: this.#processId });
          await this.#settledDelete(key, expected);
          return { version: 0, value: undefined, changed: true };
        }
        const entry = await this.#store.set(key, change.set, { expectedVersion: expected, by: this.#processId });
        await this.caughtUp(entry.version);
        return { version: entry.version, value: change.set, changed: true };
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= 1000) throw error;
        // Someone else wrote first: wait until their write is in the mirror, then decide again.
        if (error.actualVersion > expected) await this.caughtUp(error.actualVersion);
        else await this.#settledDelete(key, expected);
      }
    }
  }

  /** Stops the heartbeat and the watch; deletes this process's heartbeat record (best effort). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#heartbeat?.cancel();
    this.#selfCheck?.cancel();
    this.#heartbeat = this.#selfCheck = undefined;
    await this.#store.delete(PRESENCE + this.#processId).catch(() => undefined);
    this.#closed = true;
    this.#stopWatch?.();
    for (const set of this.#catchUp.values()) for (const resolve of set) resolve();
    this.#catchUp.clear();
    for (const w of this.#upTo.splice(0)) w.resolve();
  }

  async #settledDelete(key: string, after: number): Promise<void> {
    while (!this.#closed) {
      const rec = this.#records.get(key);
      if (rec === undefined || rec.version > after) return;
      await new Promise<void>((resolve) => {
        let set = this.#catchUp.get(key);
        if (set === undefined) this.#catchUp.set(key, (set = new Set()));
        set.add(resolve);
      });
    }
  }

  async #sendHeartbeat(): Promise<void> {
    const runtime = this.#runtime;
    if (runtime === undefined || this.#closed) return;
    const sentAt = runtime.clock.now();
    try {
      await this.#store.set(PRESENCE + this.#processId, { every: this.#every, beat: ++this.#beat } satisfies Presence, { by: this.#processId });
      // Valid for three intervals counted from *before* the write: earlier than any other
      // process can judge this one gone (they count from when they saw the write).
      this.#selfUntil = sentAt + this.#every * MISSED_BEATS;
      this.#selfCheck?.cancel();
      this.#selfCheck = runtime.timers.add(this.#selfUntil - runtime.clock.now(), () => this.#checkSelf(), { keepAlive: false });
    } catch {
      // Not renewed: the self-check at #selfUntil decides.
    }
    if (this.#closed) return;
    this.#heartbeat = runtime.timers.add(this.#every, () => void this.#sendHeartbeat(), { keepAlive: false });
  }

  #checkSelf(): void {
    this.#selfCheck = undefined;
    if (this.#closed || this.#selfUntil > this.#now) return;
    for (const fn of [...this.#selfLostListeners]) fn();
  }

  #apply(change: StateChange): void {
    const key = change.key;
    if (change.type === "delete") this.#records.delete(key);
    else if (change.entry !== undefined) this.#records.set(key, { value: change.entry.value, version: change.entry.version, seenAt: this.#now });
    const revision = change.entry?.version ?? change.previous?.version ?? 0;
    if (revision > this.#applied) {
      this.#applied = revision;
      if (this.#upTo.length > 0) {
        const due = this.#upTo.filter((w) => w.version <= revision);
        if (due.length > 0) {
          this.#upTo = this.#upTo.filter((w) => w.version > revision);
          for (const w of due) w.resolve();
        }
      }
    }
    const waiting = this.#catchUp.get(key);
    if (waiting !== undefined) {
      this.#catchUp.delete(key);
      for (const resolve of waiting) resolve();
    }
    const listeners = this.#listeners.get(key);
    if (listeners !== undefined) for (const fn of [...listeners]) fn();
    if (key.startsWith(PRESENCE)) for (const fn of [...this.#presenceListeners]) fn();
  }
}
