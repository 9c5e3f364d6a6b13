import { ClosedError, TimeoutError } from "../../errors.js";
import type { Runtime } from "../../runtime/runtime.js";
import type { Deadline } from "../../runtime/timer-queue.js";
import { checkName, checkTimeout } from "../../runtime/wait.js";
import { checkTtl } from "../../sync/checks.js";
import { Lock, type LockAcquireOptions, type WithLockOptions } from "../../sync/lock.js";
import { HeldScope, type LockScope } from "../../sync/lock-scope.js";
import type { LockSnapshot } from "../../sync/snapshot.js";
import { Waiter, WaitQueue } from "../../sync/wait-queue.js";
import { grace, type SyncRecord, type SyncTable } from "./sync-table.js";
import type { SyncWork } from "./sync-work.js";

/** A lock's record in the sync bucket. */
interface LockValue {
  readonly holder: string;
  /** The holding process. */
  readonly owner: string;
  /** The fencing token: the revision of the write that acquired the lock (absent on that write). */
  readonly token?: number;
  /** Lease length in ms; null: held until released or the owner is gone. */
  readonly ttl: number | null;
}

/** What this process holds of the lock. */
interface Held {
  readonly agentId: string;
  readonly token: number;
  /** Revision of the record as last written by this process. */
  version: number;
  ttl: number | undefined;
  /** This process's clock: the lease ends here (measured from before the write was sent). */
  until: number;
  lease: Deadline | undefined;
  /** Writes about this holding (extensions, the release) run one after the other. */
  chain: Promise<unknown>;
}

const LEASE = { keepAlive: false } as const;

/**
 * A {@link Lock} shared by every process of a NATS mesh, kept in the mesh's sync bucket.
 *
 * - The fencing token is the KV revision of the acquiring write: it increases at every acquire
 *   (by more than one when other keys were written in between) and never repeats.
 * - Waiters are served in FIFO order within a process; when the lock comes free, the waiting
 *   processes race for it with a revision-checked write, and one wins.
 * - Leases are judged by durations, each on its own machine's clock: the holder counts its
 *   lease from just *before* it sent the acquire, and others count from when they first *saw*
 *   that write, plus a margin for clock rate differences (see `grace`). So a waiter never takes
 *   over while the holder still believes it holds, whatever the offset between their clocks.
 * - A lock held by a process that is gone (its heartbeat stopped: killed, cut off) is free to
 *   take, lease or not; a process that could not renew its heartbeat gives up its locks first.
 * - `release` answers at once from what this process knows and writes the release behind.
 * @internal
 */
export class NatsLock extends Lock {
  readonly #id: string;
  readonly #key: string;
  readonly #table: SyncTable;
  readonly #rt: Runtime;
  readonly #work: SyncWork;
  readonly #queue = new WaitQueue<boolean | number>();
  #held: Held | undefined;
  #scope: HeldScope | undefined;
  #lastToken = 0;
  /** Revision of the record this object last stopped holding without a release. */
  #abandoned = 0;
  #busy = false;
  #recheck: Deadline | undefined;
  #offChange: (() => void) | undefined;
  #offPresence: (() => void) | undefined;
  #offSelfLost: (() => void) | undefined;
  #closed = false;

  constructor(lockId: string, table: SyncTable, runtime: Runtime, work: SyncWork) {
    super(lockId, { runtime });
    this.#id = lockId;
    this.#key = `lock:${lockId}`;
    this.#table = table;
    this.#rt = runtime;
    this.#work = work;
  }

  override get holder(): string | undefined {
    if (this.#held !== undefined) return this.#held.agentId;
    const rec = this.#record();
    return rec === undefined || this.#freeAt(rec) <= this.#rt.clock.now() ? undefined : rec.value.holder;
  }

  override get fencingToken(): number {
    const rec = this.#record();
    const seen = rec === undefined ? 0 : (rec.value.token ?? rec.version);
    if (seen > this.#lastToken) this.#lastToken = seen;
    return this.#lastToken;
  }

  /** Acquires waiting in this process. */
  override get waiting(): number {
    return this.#queue.size;
  }

  override get closed(): boolean {
    return this.#closed;
  }

  /** Whether this object is idle: nothing held or awaited through it in this process. */
  get idle(): boolean {
    return this.#held === undefined && this.#queue.size === 0 && !this.#busy;
  }

  override snapshot(): LockSnapshot {
    const now = this.#rt.clock.now();
    const held = this.#held;
    let leaseRemaining: number | undefined;
    if (held !== undefined) leaseRemaining = held.ttl === undefined ? undefined : Math.max(0, held.until - now);
    else {
      const rec = this.#record();
      if (rec !== undefined && rec.value.ttl !== null && this.holder !== undefined) leaseRemaining = Math.max(0, rec.seenAt + grace(rec.value.ttl) - now);
    }
    return { id: this.#id, holder: this.holder, fencingToken: this.fencingToken, leaseRemaining, waiters: this.#queue.describe() };
  }

  override acquire(agentId: string, opts?: LockAcquireOptions): Promise<boolean> {
    try {
      return this.#acquire(agentId, opts, false) as Promise<boolean>;
    } catch (error) {
      // Only covey errors are thrown above (signal reasons are returned, not thrown).
      const e = error as Error;
      return Promise.reject(e);
    }
  }

  override release(agentId: string, fencingToken?: number): boolean {
    const held = this.#held;
    if (held === undefined || held.agentId !== agentId) return false;
    if (fencingToken !== undefined && fencingToken !== held.token) return false;
    this.#drop();
    this.#free(held);
    return true;
  }

  override extendLease(agentId: string, fencingToken: number, ttl: number): boolean {
    const ms = checkTtl(ttl, "Lock.extendLease");
    const held = this.#held;
    if (this.#closed || held === undefined || held.agentId !== agentId || held.token !== fencingToken) return false;
    this.#serial(held, async () => {
      if (this.#held !== held) return;
      const sentAt = this.#rt.clock.now();
      const { version, changed } = await this.#table.modify<LockValue>(this.#key, (rec) =>
        rec?.version === held.version ? { set: { holder: agentId, owner: this.#table.processId, token: held.token, ttl: ms ?? null } } : undefined,
      );
      if (!changed) {
        if (this.#held === held) this.#lose(this.#leaseLost(held));
        return;
      }
      held.version = version;
      if (this.#held !== held) return;
      held.ttl = ms;
      this.#startLease(held, sentAt);
    });
    return true;
  }

  override async withLock<T>(agentId: string, fn: (fencingToken: number, scope: LockScope) => Promise<T> | T, opts?: WithLockOptions): Promise<T> {
    const got = await this.#acquire(agentId, opts, true);
    if (got === false) throw new TimeoutError(`acquiring lock ${JSON.stringify(this.#id)} for ${JSON.stringify(agentId)}`, opts?.timeout ?? 0);
    const token = got as number;
    const held = this.#held;
    if (held === undefined || held.token !== token) throw new TimeoutError(`lease of lock ${JSON.stringify(this.#id)} held by ${JSON.stringify(agentId)} (fencing token ${token})`, opts?.ttl ?? 0);
    const scope = (this.#scope = new HeldScope(token, opts?.signal));
    const ttl = opts?.ttl;
    let renew: Deadline | undefined;
    if (opts?.autoRenew === true && ttl !== undefined && ttl !== Infinity) {
      const tick = (): void => {
        renew = undefined;
        if (scope.lost) return;
        if (!this.extendLease(agentId, token, ttl)) return scope.lose(this.#leaseLost(held));
        renew = this.#rt.timers.add(ttl / 2, tick, LEASE);
      };
      renew = this.#rt.timers.add(ttl / 2, tick, LEASE);
    }
    try {
      const value = await fn(token, scope);
      if (scope.lost) throw scope.reason;
      return value;
    } finally {
      renew?.cancel();
      scope.end();
      if (this.#scope === scope) this.#scope = undefined;
      this.release(agentId, token);
    }
  }

  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ClosedError(`lock ${JSON.stringify(this.#id)}`);
    const held = this.#held;
    this.#lose(error);
    if (held !== undefined) this.#free(held);
    for (const w of this.#queue.drain()) {
      w.detach();
      w.reject(error);
    }
    this.#recheck?.cancel();
    this.#recheck = undefined;
    this.#unlisten();
  }

  #record(): SyncRecord<LockValue> | undefined {
    return this.#table.get<LockValue>(this.#key);
  }

  /** When the holder of `rec` stops counting, on this process's clock. */
  #freeAt(rec: SyncRecord<LockValue>): number {
    const { owner, ttl } = rec.value;
    if (owner === this.#table.processId) {
      if (this.#held !== undefined) return Infinity;
      // What this object held and lost (lease out, heartbeat lost) is free to take again.
      if (rec.version === this.#abandoned) return -Infinity;
      // Another object of this process holds it (one kept from before its manager dropped it):
      // it releases, or its lease runs out, like any holder's.
      return ttl === null ? Infinity : rec.seenAt + grace(ttl);
    }
    const gone = this.#table.goneAt(owner);
    return ttl === null ? gone : Math.min(gone, rec.seenAt + grace(ttl));
  }

  #acquire(agentId: string, opts: LockAcquireOptions | undefined, wantsToken: boolean): Promise<boolean | number> {
    if (this.#closed) throw new ClosedError(`lock ${JSON.stringify(this.#id)}`);
    checkName(agentId, "agentId");
    const timeout = checkTimeout(opts?.timeout, "Lock.acquire");
    const ttl = checkTtl(opts?.ttl, "Lock.acquire");
    const signal = opts?.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const w = new Waiter<boolean | number>(agentId, ttl, wantsToken, this.#rt.clock.now());
    this.#queue.push(w);
    const promise = w.arm(this.#rt.timers, timeout, signal, () => this.#giveUp(w, false), (reason) => this.#giveUp(w, reason, true));
    this.#listen();
    this.#pump();
    return promise;
  }

  #giveUp(w: Waiter<boolean | number>, outcome: unknown, aborted = false): void {
    if (!w.queued) return;
    this.#queue.remove(w);
    w.detach();
    if (aborted) w.reject(outcome);
    else w.resolve(false);
    if (this.#queue.size === 0 && !this.#busy) this.#unlisten();
  }

  #listen(): void {
    if (this.#offChange !== undefined) return;
    this.#offChange = this.#table.onChange(this.#key, () => this.#pump());
    this.#offPresence = this.#table.onPresence(() => this.#pump());
  }

  #unlisten(): void {
    this.#offChange?.();
    this.#offPresence?.();
    this.#offChange = this.#offPresence = undefined;
  }

  // The oldest local waiter tries to take the lock when it is free (or its holder stopped
  // counting); otherwise a recheck is armed for when the holder's lease or liveness runs out.
  #pump(): void {
    if (this.#closed || this.#busy) return;
    const w = this.#queue.first;
    if (w === undefined) return;
    this.#recheck?.cancel();
    this.#recheck = undefined;
    const rec = this.#record();
    const now = this.#rt.clock.now();
    const mine = this.#held;
    if (mine !== undefined && mine.agentId !== w.agentId) return; // another local agent holds it: its release pumps
    if (rec !== undefined && mine === undefined) {
      const freeAt = this.#freeAt(rec);
      if (freeAt > now) {
        if (freeAt !== Infinity) this.#recheck = this.#rt.timers.add(freeAt - now, () => this.#pump(), LEASE);
        return;
      }
    }
    void this.#take(w, rec?.version ?? 0);
  }

  async #take(w: Waiter<boolean | number>, expected: number): Promise<void> {
    this.#busy = true;
    const sentAt = this.#rt.clock.now();
    const owner = this.#table.processId;
    let result: { version: number; changed: boolean } | undefined;
    let failure: unknown;
    try {
      result = await this.#table.modify<LockValue>(this.#key, (rec) =>
        (rec?.version ?? 0) === expected ? { set: { holder: w.agentId, owner, ttl: w.ttl ?? null } } : undefined,
      );
    } catch (error) {
      failure = error;
    }
    this.#busy = false;
    if (result?.changed === true) {
      const token = result.version;
      if (token > this.#lastToken) this.#lastToken = token;
      const previous = this.#held;
      if (previous !== undefined) this.#drop();
      const held: Held = { agentId: w.agentId, token, version: token, ttl: w.ttl, until: Infinity, lease: undefined, chain: Promise.resolve() };
      this.#held = held;
      // A process that could not renew its heartbeat in time is judged gone by the others: it
      // stops holding first.
      this.#offSelfLost ??= this.#table.onSelfLost(() =>
        this.#lose(new ClosedError(`lock ${JSON.stringify(this.#id)}: this process missed its heartbeats and lost the lock`)),
      );
      if (w.ttl !== undefined) this.#startLease(held, sentAt);
      this.#rt.tracer?.record("lock", w.agentId, undefined, this.#id, undefined, { token });
      if (w.queued) {
        this.#queue.remove(w);
        w.detach();
        const value = w.wantsToken ? token : true;
        const resolve = w.resolve;
        this.#rt.scheduler.deliver("grant", () => resolve(value), w.agentId);
      } else {
        // The waiter gave up while its write was on the way: hand the lock straight back.
        this.#drop();
        this.#free(held);
      }
    } else if (failure !== undefined && !this.#closed) {
      // The bucket could not be written (connection lost, server restarting): the waiter keeps
      // its place and tries again shortly, within its own deadline.
      this.#recheck = this.#rt.timers.add(250, () => this.#pump(), LEASE);
      return;
    }
    if (this.#queue.size === 0) this.#unlisten();
    else this.#pump();
  }

  #startLease(held: Held, sentAt: number): void {
    held.lease?.cancel();
    held.lease = undefined;
    if (held.ttl === undefined) {
      held.until = Infinity;
      return;
    }
    held.until = sentAt + held.ttl;
    held.lease = this.#rt.timers.add(Math.max(0, held.until - this.#rt.clock.now()), () => this.#expire(held), LEASE);
  }

  #expire(held: Held): void {
    if (this.#held !== held) return;
    this.#rt.tracer?.record("lock-expired", held.agentId, undefined, this.#id, undefined, { token: held.token });
    this.#lose(this.#leaseLost(held));
    this.#free(held);
  }

  // This process stops holding (lease out, heartbeat lost, closed): the scope learns why.
  #lose(reason: unknown): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#abandoned = held.version;
    this.#drop();
    const scope = this.#scope;
    this.#scope = undefined;
    scope?.lose(reason);
  }

  #drop(): void {
    const held = this.#held;
    if (held === undefined) return;
    held.lease?.cancel();
    held.lease = undefined;
    this.#held = undefined;
    this.#offSelfLost?.();
    this.#offSelfLost = undefined;
  }

  // Deletes the record if it is still the one `held` wrote; then the next local waiter tries.
  #free(held: Held): void {
    this.#serial(held, async () => {
      await this.#table.modify<LockValue>(this.#key, (rec) => (rec?.version === held.version ? { delete: true } : undefined));
      this.#pump();
    });
  }

  // Background writes about one holding, in order; tracked so that shutdown waits for them.
  #serial(held: Held, op: () => Promise<void>): void {
    const next = held.chain.then(op);
    held.chain = next.catch(() => undefined);
    this.#work.track(next);
  }

  #leaseLost(held: Held): TimeoutError {
    return new TimeoutError(`lease of lock ${JSON.stringify(this.#id)} held by ${JSON.stringify(held.agentId)} (fencing token ${held.token})`, held.ttl ?? 0);
  }
}
