import { jetstream, StorageType } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { BackendError } from "../../errors.js";
import { encodeKey } from "./key-codec.js";
import { isWrongLastSequence } from "./nats-errors.js";

/** Which process hosts a stream, as this process last learnt it. @internal */
export interface Route {
  /** The hosting process's id (this process's own id when it hosts the stream). */
  readonly owner: string;
  /** KV revision of the claim record. */
  readonly revision: number;
}

/** A claim record: the JSON value of a key in the streams bucket. */
interface Claim {
  owner: string;
}

/**
 * Who hosts which stream: one key per stream id (encoded as a KV key) in bucket
 * `covey_<mesh>_streams`, value `{"owner":"<process id>"}`. The first process to use a stream
 * writes the key with a create-if-absent write and hosts the stream from then on; a process
 * that found a host gone (its subject had no responders) takes the key over with a
 * revision-checked update, so of two processes racing for a stream exactly one wins.
 * A host deletes its keys when it closes, and the key of a stream that ended long ago (see
 * {@link release}).
 *
 * Routes to streams hosted elsewhere are a cache (the newest {@link REMOTE_ROUTES} kept); the
 * streams this process hosts are kept until released.
 * @internal
 */
export class StreamClaims {
  readonly #self: string;
  readonly #kv: Promise<KV>;
  /** Streams this process hosts, with the revision of its claim. */
  readonly #owned = new Map<string, number>();
  /** Routes to streams hosted elsewhere, oldest first. */
  readonly #remote = new Map<string, Route>();
  readonly #pending = new Map<string, Promise<Route>>();
  /** Claims being deleted: a new claim of the same id waits for the delete. */
  readonly #releasing = new Map<string, Promise<void>>();
  /** Processes whose stream subject had no responders: their claims may be taken over. */
  readonly #gone = new Set<string>();
  #closed = false;

  constructor(nc: NatsConnection, bucket: string, storage: "file" | "memory", self: string) {
    this.#self = self;
    this.#kv = new Kvm(jetstream(nc)).create(bucket, { history: 1, storage: storage === "memory" ? StorageType.Memory : StorageType.File });
    // Failures surface on the first resolve; never as an unhandled rejection.
    this.#kv.catch(() => undefined);
  }

  /** The known route of `id`, without asking the server. */
  cached(id: string): Route | undefined {
    const revision = this.#owned.get(id);
    return revision !== undefined ? { owner: this.#self, revision } : this.#remote.get(id);
  }

  /** Whether this process hosts `id`. */
  hosts(id: string): boolean {
    return this.#owned.has(id);
  }

  /** How many streams this process holds claims for. */
  get hosted(): number {
    return this.#owned.size;
  }

  /** The route of `id`: the cached one, or the claim in the bucket (made by this process if absent). */
  resolve(id: string): Promise<Route> {
    const pending = this.#pending.get(id);
    if (pending !== undefined) return pending;
    const p = this.#claim(id);
    this.#pending.set(id, p);
    // The first reaction: the operations queued on `p` run after it, in the order they were
    // queued, and an operation issued meanwhile still queues behind them.
    const drop = (): void => void this.#pending.delete(id);
    p.then(drop, drop);
    return p;
  }

  /** Whether the route of `id` is being resolved (operations on it must queue behind). */
  isResolving(id: string): boolean {
    return this.#pending.has(id);
  }

  /** The route of `id` to `owner` turned out stale (the stream moved): ask the bucket next time. */
  forget(id: string, owner: string): void {
    if (this.#remote.get(id)?.owner === owner) this.#remote.delete(id);
  }

  /**
   * Gives up hosting `id` (its stream ended and nothing of it is held any more): deletes the
   * claim, checked against its revision. Until the delete is done, a new claim of `id` from
   * this process waits for it.
   */
  release(id: string): void {
    const revision = this.#owned.get(id);
    if (revision === undefined || this.#closed) return;
    this.#owned.delete(id);
    const p = this.#kv.then((kv) => kv.delete(encodeKey(id), { previousSeq: revision })).then(
      () => undefined,
      () => undefined,
    );
    this.#releasing.set(id, p);
    void p.then(() => {
      if (this.#releasing.get(id) === p) this.#releasing.delete(id);
    });
  }

  /** `owner` did not answer on its stream subject: forget routes to it; its claims are free. */
  ownerGone(owner: string): void {
    if (owner === this.#self) return;
    this.#gone.add(owner);
    for (const [id, route] of this.#remote) if (route.owner === owner) this.#remote.delete(id);
  }

  /** Deletes the claims of the streams this process hosts (each only if still this process's). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let kv: KV;
    try {
      kv = await this.#kv;
    } catch {
      return;
    }
    const mine = [...this.#owned];
    this.#owned.clear();
    this.#remote.clear();
    await Promise.all(this.#releasing.values());
    // A few at a time: a host of many streams must not flood the server on shutdown.
    for (let i = 0; i < mine.length; i += 64) {
      await Promise.all(mine.slice(i, i + 64).map(([id, revision]) => kv.delete(encodeKey(id), { previousSeq: revision }).catch(() => undefined)));
    }
  }

  async #claim(id: string): Promise<Route> {
    const key = encodeKey(id);
    let kv: KV;
    try {
      kv = await this.#kv;
    } catch (error) {
      throw new BackendError("nats", `open the streams bucket for stream ${JSON.stringify(id)}`, String(error), { transient: true, cause: error });
    }
    await this.#releasing.get(id);
    for (let attempt = 0; ; attempt++) {
      try {
        const entry = await kv.get(key);
        const owner = entry !== null && entry.operation === "PUT" ? readOwner(entry.string()) : undefined;
        let revision: number;
        if (owner !== undefined && (owner === this.#self || !this.#gone.has(owner))) {
          revision = entry!.revision;
          return this.#remember(id, { owner, revision });
        }
        const claim = JSON.stringify({ owner: this.#self } satisfies Claim);
        // Absent (or deleted): create-if-absent; held by a process that is gone: take it over.
        revision = owner === undefined ? await kv.create(key, claim) : await kv.update(key, claim, entry!.revision);
        return this.#remember(id, { owner: this.#self, revision });
      } catch (error) {
        // Another process claimed it between the read and the write: read again.
        if (isWrongLastSequence(error) && attempt < 16) continue;
        if (error instanceof BackendError) throw error;
        throw new BackendError("nats", `claim stream ${JSON.stringify(id)}`, error instanceof Error ? error.message : String(error), { transient: true, cause: error });
      }
    }
  }

  #remember(id: string, route: Route): Route {
    if (this.#closed) return route;
    if (route.owner === this.#self) {
      this.#owned.set(id, route.revision);
      return route;
    }
    const remote = this.#remote;
    remote.delete(id);
    remote.set(id, route);
    if (remote.size > REMOTE_ROUTES) remote.delete(remote.keys().next().value!);
    return route;
  }
}

/** Routes to streams hosted elsewhere kept in the cache; older ones are read from the bucket again when used. */
export const REMOTE_ROUTES = 4096;

function readOwner(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as Partial<Claim> | null;
    return typeof v?.owner === "string" && v.owner !== "" ? v.owner : undefined;
  } catch {
    return undefined;
  }
}
