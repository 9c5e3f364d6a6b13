import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { checkWatch, matchesFilter } from "../../state/watch-options.js";
import { jetstream, StorageType, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { Draft } from "immer";
import { ClosedError, ValidationError, VersionConflictError } from "../../errors.js";
import { describeValue } from "../../runtime/describe.js";
import { systemClock, type Clock } from "../../runtime/clock.js";
import { immediateScheduler } from "../../runtime/scheduler.js";
import { checkName } from "../../runtime/wait.js";
import { ChangeFeed, warnListenerError, type ListenerErrorHandler } from "../../state/change-feed.js";
import { StoredEntry } from "../../state/entry.js";
import { HistoryRing, makeChange } from "../../state/history-ring.js";
import { jsonEquals, toStoredValue } from "../../state/json-value.js";
import type { StateChange, StateEntry, StateStore, UpdateOptions, UpdateRecipe, UpdateResult, WatchOptions } from "../../state/types.js";
import { checkBy, checkCount } from "../../state/update-recipe.js";
import { updateWithRetry } from "../../state/update-with-retry.js";
import { decodeKey, encodeKey } from "./key-codec.js";
import { isWrongLastSequence, mapNats } from "./nats-errors.js";
import { decodePayload, LazyEntry, type Envelope } from "./lazy-entry.js";
import { OpQueue } from "./op-queue.js";
import { StreamFollower } from "./stream-follower.js";

/** Options of {@link natsStateStore}. */
export interface NatsStateStoreOptions {
  /** The KV bucket holding the keys (created if missing); `[A-Za-z0-9_-]+`. */
  bucket: string;
  /** The clock of entry timestamps. @default systemClock */
  clock?: Clock;
  /** Changes `history()` and `watch({ fromVersion })` keep, store-wide. @default 1000 */
  historyLimit?: number;
  /** Largest value accepted, in UTF-8 bytes of its JSON text. @default 1048576 */
  maxValueBytes?: number;
  /** Revisions the bucket keeps per key (the KV `history`, 1..64). @default 16 */
  keyHistory?: number;
  /** Where the bucket lives on the server. @default "file" */
  storage?: "file" | "memory";
  /**
   * Follow the bucket from the start with one ordered consumer (the feed of watch, `keys()` and
   * `history()`). `false` starts it only at the first of those: a store that is only read and
   * written then costs no consumer (kv.update about 20% cheaper), but the first watch starts
   * where the server stands when it answers, so a change another process commits while that
   * first watch is being set up can fall before its start.
   * @default true
   */
  follow?: boolean;
  /** Receives what a watch listener threw. @default a process warning */
  onListenerError?: ListenerErrorHandler;
}

/** A watch waiting for the feed to reach the point where it starts. */
interface PendingWatch {
  /** The revision after which its changes begin; Infinity until known. */
  after: number;
  start: (missed?: readonly StateChange[]) => () => void;
  stop: (() => void) | undefined;
  cancelled: boolean;
  /** The changes the feed delivered while the watch waited, with their revisions. */
  seen: { seq: number; change: StateChange }[];
}

interface Read {
  /** The live entry, undefined when absent. */
  entry: StateEntry | undefined;
  /** Revision of the key's last message (its tombstone when deleted); 0 when never written. */
  last: number;
}

const OP_HEADER = "KV-Operation";
const BY_HEADER = "Covey-By";
const EXPECT_HEADER = "Nats-Expected-Last-Subject-Sequence";
const encoder = new TextEncoder();

/**
 * A {@link StateStore} on a NATS JetStream KV bucket, shared by every process that opens the
 * same bucket.
 *
 * - `version` is the KV revision (the bucket stream's sequence): strictly increasing per key,
 *   never reused, not contiguous.
 * - Conditional writes are revision-checked publishes (`Nats-Expected-Last-Subject-Sequence`);
 *   JetStream's 10071 / 10164 become `VersionConflictError` with the server error as `cause`.
 *   "Must not exist" over a delete tombstone checks the tombstone's revision, so a key
 *   re-created concurrently can never be created twice.
 * - `compareAndSwap` and `update` read, decide and write with the revision they read; a write
 *   that lost re-reads (update re-runs the recipe), so both are linearizable across processes.
 * - One ordered consumer per store follows the bucket from its first retained message: it
 *   feeds watchers (every change once, in the stream's order), a mirror of the live keys (for
 *   `keys()` and watch `previous`) and the bounded history. A write resolves once the consumer
 *   has delivered it, so this process's watchers have seen a write before it returns.
 * - A process's operations on one store run in the order they were called (one at a time).
 * @example
 * ```ts
 * const store = await natsStateStore(nc, { bucket: "crew_state" });
 * await store.update<number>("runs", (n) => (n ?? 0) + 1);
 * ```
 */
export class NatsStateStore implements StateStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #kv: KV;
  readonly #stream: string;
  readonly #prefix: string;
  #clock: Clock;
  readonly #maxValueBytes: number;
  readonly #queue = new OpQueue();
  readonly #feed: ChangeFeed;
  readonly #ring: HistoryRing;
  readonly #live = new Map<string, StateEntry>();
  /** This store's acknowledged writes the feed has not delivered yet (for `update`'s first read). */
  readonly #own = new Map<string, StateEntry>();
  #position = 0;
  /** Highest revision this store's own writes were acknowledged with. */
  #acked = 0;
  /** Watches waiting for the feed to reach this store's own last write before they start. */
  #pendingWatches: PendingWatch[] = [];
  #waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #follower: StreamFollower;
  #following: Promise<void> | undefined;
  #closed = false;

  /** @internal use {@link natsStateStore} */
  constructor(js: JetStreamClient, jsm: JetStreamManager, kv: KV, opts: NatsStateStoreOptions) {
    this.#js = js;
    this.#jsm = jsm;
    this.#kv = kv;
    this.#stream = `KV_${opts.bucket}`;
    this.#prefix = `$KV.${opts.bucket}.`;
    this.#clock = opts.clock ?? systemClock;
    this.#maxValueBytes = opts.maxValueBytes ?? 1024 * 1024;
    this.#ring = new HistoryRing(opts.historyLimit ?? 1000);
    this.#feed = new ChangeFeed(immediateScheduler, opts.onListenerError ?? warnListenerError);
    this.#follower = new StreamFollower(js, this.#stream, (m) => this.#onMessage(m));
  }

  /** @internal entry timestamps come from `clock` from now on (the system's, when a backend attaches). */
  useClock(clock: Clock): void {
    this.#clock = clock;
  }

  /** @internal starts following the bucket and resolves once it caught up with it. */
  async start(nc: NatsConnection, follow: boolean): Promise<void> {
    // After a reconnect (a server restart, a network cut) the server may have lost the ordered
    // consumer: rather than wait for the client to notice, follow again from the last change
    // delivered (once the feed was started at all).
    void this.#follower.resumeOnReconnect(nc, async () => this.#position + 1, () => this.#following !== undefined);
    if (follow) {
      await this.#ensureFeed();
      await this.#sync();
    }
  }

  /**
   * Starts following the bucket, once: on the first watch, `keys()` or `history()` (or at
   * once with `follow: true`). Until then writes and reads cost no consumer at all.
   */
  #ensureFeed(): Promise<void> {
    return (this.#following ??= this.#follower.follow(this.#position + 1));
  }

  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    checkName(key, "key");
    return this.#op(`kv get ${JSON.stringify(key)}`, async () => (await this.#read(key)).entry as StateEntry<T> | undefined);
  }

  async set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const expected = opts?.expectedVersion === undefined ? undefined : checkCount(opts.expectedVersion, "expectedVersion", 0);
    const stored = toStoredValue(value, this.#maxValueBytes, key);
    return this.#op(`kv set ${JSON.stringify(key)}`, () => this.#set(key, stored, by, expected)) as Promise<StateEntry<T>>;
  }

  async delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const expected = opts?.expectedVersion === undefined ? undefined : checkCount(opts.expectedVersion, "expectedVersion", 0);
    return this.#op(`kv delete ${JSON.stringify(key)}`, async () => {
      for (;;) {
        const { entry } = await this.#read(key);
        const actual = entry?.version ?? 0;
        if (expected !== undefined && actual !== expected) throw new VersionConflictError(key, expected, actual);
        if (entry === undefined) return false;
        const h = natsHeaders();
        h.set(OP_HEADER, "DEL");
        h.set(BY_HEADER, by);
        h.set(EXPECT_HEADER, String(entry.version));
        try {
          await this.#settle((await this.#js.publish(this.#subject(key), new Uint8Array(0), { headers: h })).seq);
          this.#own.delete(key);
          return true;
        } catch (err) {
          if (!isWrongLastSequence(err)) throw err;
          // Changed between the read and the delete: with an expectedVersion that is a conflict
          // (reported with the version found now), without one the delete is decided again.
          if (expected !== undefined) throw await this.#conflict(key, expected, err);
        }
      }
    });
  }

  async compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    checkName(key, "key");
    const by = checkBy(opts?.by);
    const stored = toStoredValue(newValue, this.#maxValueBytes, key);
    return this.#op(`kv compareAndSwap ${JSON.stringify(key)}`, async () => {
      for (;;) {
        const { entry, last } = await this.#read(key);
        const match = expectedValue === undefined ? entry === undefined : entry !== undefined && jsonEquals(entry.value, expectedValue);
        if (!match) return false;
        try {
          await this.#write(key, stored, by, entry?.version ?? last);
          return true;
        } catch (err) {
          // Someone wrote in between: decide again on what is there now.
          if (!(err instanceof VersionConflictError)) throw err;
        }
      }
    });
  }

  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  async update<T, R>(key: string, fn: UpdateRecipe<T, R, never>, opts?: UpdateOptions): Promise<UpdateResult<T, R>> {
    checkName(key, "key");
    // Operations the recipe starts on this store: awaited before the write, so that (as
    // in-process) their effect is what the write's revision check sees.
    const children: Promise<unknown>[] = [];
    const recipe = typeof fn !== "function" ? fn : ((draft: never, ctx: never) => this.#queue.capture(children, () => fn(draft, ctx)));
    return this.#op(`kv update ${JSON.stringify(key)}`, () =>
      updateWithRetry<T, R>(
        {
          get: async (k) => (await this.#read(k)).entry,
          // The feed's copy, or this store's own newer write: one round trip saved per update;
          // the revision-checked write catches a copy that lags.
          peek: (k) => {
            if (this.#following === undefined) return undefined;
            const own = this.#own.get(k);
            const live = this.#live.get(k);
            return own !== undefined && (live === undefined || own.version > live.version) ? own : live;
          },
          set: async (k, value, o) => {
            if (children.length > 0) await Promise.allSettled(children.splice(0));
            return this.#set(k, toStoredValue(value, this.#maxValueBytes, k), o.by, o.expectedVersion);
          },
        },
        key,
        recipe as UpdateRecipe<T, R, never>,
        opts,
      ),
    );
  }

  async keys(prefix?: string): Promise<string[]> {
    if (prefix !== undefined && typeof prefix !== "string") {
      throw new ValidationError("prefix must be a string", [{ path: ["prefix"], message: "must be a string" }]);
    }
    return this.#op("kv keys", async () => {
      await this.#ensureFeed();
      await this.#sync();
      const out: string[] = [];
      for (const k of this.#live.keys()) if (prefix === undefined || k.startsWith(prefix)) out.push(k);
      return out.sort();
    });
  }

  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void {
    checkName(filter, "filter");
    const { includeCurrent, fromVersion, onReady } = checkWatch(opts);
    if (typeof listener !== "function") {
      throw new ValidationError("watch listener must be a function", [{ path: ["listener"], message: "must be a function" }]);
    }
    const start = (missed?: readonly StateChange[]): (() => void) => {
      let initial: StateChange[] | undefined;
      if (missed !== undefined && !includeCurrent && fromVersion === undefined) {
        initial = missed.filter((c) => matchesFilter(filter, c.key));
      } else if (includeCurrent) {
        initial = [];
        for (const k of [...this.#live.keys()].sort()) if (matchesFilter(filter, k)) initial.push(makeChange(k, this.#live.get(k), undefined));
      } else if (fromVersion !== undefined) {
        initial = this.#ring.since(fromVersion, (k) => matchesFilter(filter, k));
      }
      return this.#feed.watch(filter, listener as (change: StateChange) => void, initial, onReady);
    };
    // Writes of this store that returned before this watch started may not have reached the
    // feed yet (writes wait for it only while someone watches): the watch starts once they
    // have, so they count as before it (and are in its current values or replay).
    if (this.#following !== undefined && this.#pendingWatches.length === 0 && this.#acked <= this.#position) return start();
    // Watches start in the order they were made: behind a pending one, this one waits too.
    const pending: PendingWatch = { after: this.#acked, start, stop: undefined, cancelled: false, seen: [] };
    this.#pendingWatches.push(pending);
    if (this.#following === undefined) {
      // The first watch starts the feed. It starts once the feed holds everything committed
      // before this call: the stream-info request goes out now, ahead of any later write of
      // this process, so its last sequence covers exactly that.
      pending.after = Infinity;
      const info = this.#jsm.streams.info(this.#stream);
      void this.#ensureFeed().catch(() => undefined);
      void info.then(
        (i) => {
          pending.after = i.state.messages === 0 ? 0 : i.state.last_seq;
          this.#startDue();
        },
        (error: unknown) => {
          // No feed (the connection failed): the watch cannot start; report it like a listener failure.
          this.#pendingWatches = this.#pendingWatches.filter((w) => w !== pending);
          if (!this.#closed) process.emitWarning(new Error(`covey: a NATS state watch on ${JSON.stringify(filter)} could not start: ${String(error)}`));
        },
      );
    }
    return () => {
      pending.cancelled = true;
      pending.stop?.();
    };
  }

  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    const key = opts?.key;
    const limit = opts?.limit;
    if (key !== undefined) checkName(key, "key");
    if (limit !== undefined) checkCount(limit, "limit", 0);
    return this.#op("kv history", async () => {
      await this.#ensureFeed();
      await this.#sync();
      return this.#ring.toArray(key, limit);
    });
  }

  /**
   * Stops following the bucket; pending and later operations reject with ClosedError. The
   * connection stays open (it belongs to the caller). Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(new ClosedError("NATS state store"));
    await this.#follower.close();
  }

  /**
   * Runs one operation in order with the others; what the NATS client throws becomes a covey
   * error (ClosedError, TimeoutError, BackendError) with the client's error as `cause`.
   */
  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return mapNats({ operation, timeout: 5000 }, () => this.#queue.run(fn));
  }

  async #set(key: string, stored: unknown, by: string, expected: number | undefined): Promise<StoredEntry> {
    if (expected === undefined || expected > 0) return this.#write(key, stored, by, expected);
    // "Must not exist": check against the key's last message, so a tombstone's revision is
    // what the write expects and a concurrent re-create makes it fail.
    const { entry, last } = await this.#read(key);
    if (entry !== undefined) throw new VersionConflictError(key, 0, entry.version);
    return this.#write(key, stored, by, last, 0);
  }

  /** Publishes `stored` under `key`, checked against revision `expect` when given. */
  async #write(key: string, stored: unknown, by: string, expect: number | undefined, reportAs = expect): Promise<StoredEntry> {
    if (this.#closed) throw new ClosedError("NATS state store");
    const timestamp = this.#clock.now();
    const envelope: Envelope = { value: stored, updatedBy: by, timestamp };
    const h = natsHeaders();
    if (expect !== undefined) h.set(EXPECT_HEADER, String(expect));
    let seq: number;
    try {
      seq = (await this.#js.publish(this.#subject(key), encoder.encode(JSON.stringify(envelope)), { headers: h })).seq;
    } catch (err) {
      if (isWrongLastSequence(err)) throw await this.#conflict(key, reportAs ?? 0, err);
      throw err;
    }
    await this.#settle(seq);
    const entry = new StoredEntry(key, stored, seq, timestamp, by);
    if (this.#following !== undefined && seq > this.#position) this.#own.set(key, entry);
    return entry;
  }

  /**
   * A write of this store was acknowledged with `seq`. With watchers, waits until the feed has
   * delivered it (so they saw it before the write returns); without, returns at once, and a
   * watch started later skips what this store wrote before it (see {@link watch}).
   */
  #settle(seq: number): Promise<void> {
    if (seq > this.#acked) this.#acked = seq;
    return this.#feed.size > 0 || this.#pendingWatches.length > 0 ? this.#commit({ seq }) : Promise.resolve();
  }

  /** Waits until the feed delivered the write acknowledged with `ack.seq`. */
  #commit(ack: { seq: number }): Promise<void> {
    const seq = ack.seq;
    if (this.#position >= seq) return Promise.resolve();
    if (this.#closed) return Promise.reject(new ClosedError("NATS state store"));
    return new Promise((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
  }

  async #conflict(key: string, expected: number, cause: unknown): Promise<VersionConflictError> {
    const { entry } = await this.#read(key);
    const err = new VersionConflictError(key, expected, entry?.version ?? 0);
    Object.defineProperty(err, "cause", { value: cause, configurable: true, writable: true });
    return err;
  }

  /** The key's live entry and last revision, read from the server (linearizable). */
  async #read(key: string): Promise<Read> {
    if (this.#closed) throw new ClosedError("NATS state store");
    const e = await this.#kv.get(encodeKey(key));
    if (e === null) return { entry: undefined, last: 0 };
    if (e.operation !== "PUT") return { entry: undefined, last: e.revision };
    const known = this.#live.get(key);
    if (known !== undefined && known.version === e.revision) return { entry: known, last: e.revision };
    const d = decodePayload(key, e.value, e.created.getTime());
    return { entry: new StoredEntry(key, d.value, e.revision, d.timestamp, d.updatedBy), last: e.revision };
  }

  /** Waits until the feed has delivered everything the bucket held when this was called. */
  async #sync(): Promise<void> {
    const info = await this.#jsm.streams.info(this.#stream);
    if (info.state.messages === 0) return;
    await this.#commit({ seq: info.state.last_seq });
  }

  #publish(seq: number, change: StateChange): void {
    for (const w of this.#pendingWatches) w.seen.push({ seq, change });
    this.#feed.publish(change);
  }

  /**
   * Starts, in the order they were made, the pending watches the feed has reached. A watch
   * whose start point the feed passed before it was known gets the changes after that point
   * that it missed, first.
   */
  #startDue(): void {
    const at = this.#position;
    let n = 0;
    for (const w of this.#pendingWatches) {
      if (w.after > at) break;
      n++;
      if (w.cancelled) continue;
      const after = w.after;
      const missed = w.seen.filter((x) => x.seq > after).map((x) => x.change);
      w.stop = w.start(missed.length > 0 ? missed : undefined);
    }
    if (n > 0) this.#pendingWatches = this.#pendingWatches.slice(n);
  }

  #onMessage(m: JsMsg): void {
    const seq = m.seq;
    if (seq <= this.#position) return;
    const key = m.subject.startsWith(this.#prefix) ? decodeKey(m.subject.slice(this.#prefix.length)) : undefined;
    if (key !== undefined) {
      if (this.#own.size > 0 && (this.#own.get(key)?.version ?? Infinity) <= seq) this.#own.delete(key);
      const previous = this.#live.get(key);
      const op = m.headers?.get(OP_HEADER) ?? "";
      if (op === "DEL" || op === "PURGE") {
        if (previous !== undefined) {
          this.#live.delete(key);
          this.#ring.push(undefined, previous, seq);
          this.#publish(seq, makeChange(key, undefined, previous));
        }
      } else {
        const entry = new LazyEntry(key, seq, m.data, m.info.timestampNanos / 1e6);
        this.#live.set(key, entry);
        this.#ring.push(entry, previous, seq);
        this.#publish(seq, makeChange(key, entry, previous));
      }
    }
    this.#position = seq;
    if (this.#pendingWatches.length > 0) this.#startDue();
    if (this.#waiters.length > 0) {
      const due = this.#waiters.filter((w) => w.seq <= seq);
      if (due.length > 0) {
        this.#waiters = this.#waiters.filter((w) => w.seq > seq);
        for (const w of due) w.resolve();
      }
    }
  }

  #subject(key: string): string {
    return this.#prefix + encodeKey(key);
  }
}

/**
 * Opens (creating it if missing) the KV bucket `opts.bucket` on `nc` as a {@link StateStore},
 * and resolves once the store has caught up with what the bucket holds.
 * @example
 * ```ts
 * const nc = await connect({ servers: "nats://127.0.0.1:4222" });
 * const store = await natsStateStore(nc, { bucket: "crew_state" });
 * ```
 */
export async function natsStateStore(nc: NatsConnection, opts: NatsStateStoreOptions): Promise<NatsStateStore> {
  if (typeof opts.bucket !== "string" || !/^[A-Za-z0-9_-]+$/.test(opts.bucket)) {
    throw new ValidationError(`bucket must match [A-Za-z0-9_-]+, got ${describeValue(opts.bucket)}`, [{ path: ["bucket"], message: "invalid bucket name" }]);
  }
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const kv = await new Kvm(js).create(opts.bucket, { history: opts.keyHistory ?? 16, storage: opts.storage === "memory" ? StorageType.Memory : StorageType.File });
  const store = new NatsStateStore(js, jsm, kv, opts);
  await store.start(nc, opts.follow ?? true);
  return store;
}
