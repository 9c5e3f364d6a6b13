import type { NatsConnection } from "@nats-io/transport-node";
import { StreamingChannel, type StreamHandle, type StreamInfo, type StreamOptions } from "../../channels/streaming.js";
import { ClosedError, ValidationError } from "../../errors.js";
import { describeValue } from "../../runtime/describe.js";
import { assertJson } from "../../runtime/json.js";
import type { Runtime } from "../../runtime/runtime.js";
import { checkName, checkTimeout, type WaitOptions } from "../../runtime/wait.js";
import { StreamCaller, StreamMoved } from "./stream-caller.js";
import { StreamClaims, type Route } from "./stream-claims.js";
import { StreamHost } from "./stream-host.js";
import { asError, bounded, receiveIterator, rejected, settled } from "./stream-promises.js";
import { StreamSubjects } from "./stream-wire.js";
import { encodeJson } from "./wire.js";

/** Options of {@link NatsStreamingChannel}. */
export interface NatsStreamingOptions {
  /** The mesh's subject root, `covey.<mesh>`. */
  root: string;
  /** The KV bucket of stream claims, `covey_<mesh>_streams`. */
  bucket: string;
  /** This process's id on the mesh. */
  processId: string;
  /** Where the claims bucket lives. @default "file" */
  storage?: "file" | "memory";
  /** Progress-frame interval of remote waits; a host silent for three fails them. @default 500 */
  heartbeatMs?: number;
  /**
   * How long a stream made on first use may stay idle (no data, no waiter) before its host
   * gives up its claim (the next use claims it again). @default 10000
   */
  releaseAfterMs?: number;
}

/** How often an operation follows a stream that moved to another host before giving up. */
const MOVED_RETRIES = 4;

/**
 * A {@link StreamingChannel} shared by every process of a NATS mesh: the same methods and the
 * same behaviour, for streams used from any process.
 *
 * Each stream is hosted by one process, the first that uses (or creates) it: it claims the
 * stream with a create-if-absent write in KV bucket `covey_<mesh>_streams` and keeps the
 * stream in an in-process channel, so FIFO order, `highWaterMark`, backpressure and closing are
 * exactly the in-process ones. Other processes send their `send`, `receive`, `createStream`
 * and `closeStream` to the host over NATS; a remote `send` resolves once its item is in the
 * host's buffer, so backpressure crosses processes. Payloads cross as JSON and must be JSON
 * data (else ValidationError).
 *
 * The host decides the outcome of every remote wait (the deadline travels with it; an abort
 * sends a cancel), and a received item is acknowledged, so a receiver that gives up loses no
 * item and none is delivered twice. A stream's buffer lives in its host process: if the host
 * dies, waits on its streams fail with ClosedError within three heartbeats, the operation that
 * finds it gone fails with ClosedError, and the next operation starts a fresh stream hosted
 * by a live process. `info()` and `streamIds()` describe the streams this process hosts;
 * {@link fetchInfo} asks the host of any stream.
 *
 * Limits: a receiver whose event loop stalls for more than three heartbeats before it
 * acknowledges an item may see that item again (it went back to the head); a claim is given up
 * when its stream ended long ago or stayed idle (see `releaseAfterMs`); a host cut off from the
 * server for longer than three heartbeats is taken for dead by the others.
 *
 * @example
 * ```ts
 * // process A
 * const tokens = system.communication.streaming.createStream<string>("tokens", { highWaterMark: 64 });
 * for (const t of ["Hel", "lo"]) await tokens.send(t); // waits while B's reads lag 64 behind
 * tokens.close();
 * // process B, same mesh
 * for await (const t of other.communication.streaming.iterate<string>("tokens")) process.stdout.write(t);
 * ```
 */
export class NatsStreamingChannel extends StreamingChannel {
  readonly #host: StreamingChannel;
  readonly #claims: StreamClaims;
  readonly #server: StreamHost;
  readonly #caller: StreamCaller;
  readonly #self: string;
  readonly #runtime: Runtime;
  /** A createStream that failed at a remote host: the next operation on the stream from here rejects with it. */
  readonly #createErrors = new Map<string, Error>();
  /** Idle streams made on first use, by when they were forgotten (wall clock), oldest first. */
  readonly #idle = new Map<string, number>();
  readonly #releaseAfter: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** createStream calls on their way to a remote host: later operations wait for them. */
  readonly #creating = new Map<string, Promise<void>>();
  #closed = false;

  /** @internal built by `natsBackend()`, on the system's runtime */
  constructor(nc: NatsConnection, runtime: Runtime, opts: NatsStreamingOptions) {
    super({ runtime });
    this.#self = opts.processId;
    this.#runtime = runtime;
    this.#claims = new StreamClaims(nc, opts.bucket, opts.storage ?? "file", opts.processId);
    this.#releaseAfter = opts.releaseAfterMs ?? 10_000;
    // A stream the host holds nothing of any more: give up its claim (at once for one that ended
    // long ago; for an idle one made on first use, if it stays unused for a while).
    this.#host = new StreamingChannel({ runtime, onForgotten: (id, ended) => (ended ? this.#release(id) : this.#idleSoon(id)) });
    const subjects = new StreamSubjects(opts.root);
    const heartbeat = opts.heartbeatMs ?? 500;
    this.#server = new StreamHost(nc, subjects, opts.processId, this.#claims, this.#host, heartbeat);
    this.#caller = new StreamCaller(nc, subjects, opts.processId, heartbeat, (host) => this.#claims.ownerGone(host));
  }

  /**
   * Creates stream `streamId` with the given options, as in-process. When this process hosts
   * the stream it is created at once (a different `highWaterMark` throws ValidationError).
   * Otherwise the options travel to the host; this process's later operations on the stream
   * wait until they arrived, and a refusal there (another `highWaterMark`) rejects the first of
   * them, or {@link created}. Another process's first use of the stream may reach the host
   * first (it then exists with highWaterMark 16): await {@link created} before other processes
   * use a stream whose options matter.
   * @throws ValidationError when `highWaterMark` is not an integer >= 1; ClosedError after {@link close}.
   */
  override createStream<T = unknown>(streamId: string, opts?: StreamOptions): StreamHandle<T> {
    if (this.#closed) throw new ClosedError("streaming channel");
    checkName(streamId, "streamId");
    const hwm = opts?.highWaterMark;
    if (hwm !== undefined && (!Number.isInteger(hwm) || hwm < 1)) {
      throw new ValidationError(`highWaterMark must be an integer >= 1, got ${describeValue(hwm)}`, [{ path: ["highWaterMark"], message: "must be an integer >= 1" }]);
    }
    const route = this.#routeNow(streamId);
    if (route?.owner === this.#self && !this.#creating.has(streamId)) {
      this.#host.createStream(streamId, opts);
      return this.stream<T>(streamId);
    }
    const body = encodeJson(hwm === undefined ? {} : { highWaterMark: hwm });
    const create = (): Promise<void> =>
      this.#routed(streamId, undefined, (r) => {
        if (r.owner !== this.#self) return this.#caller.request(r.owner, "create", streamId, body, {}) as Promise<void>;
        this.#host.createStream(streamId, opts);
        return Promise.resolve();
      });
    // After an earlier create of the same stream from here, in order.
    const before = this.#creating.get(streamId);
    const p = before === undefined ? create() : before.then(create, create);
    this.#creating.set(streamId, p);
    // The first reaction: operations queued on `p` find the outcome recorded.
    p.then(
      () => {
        if (this.#creating.get(streamId) === p) this.#creating.delete(streamId);
      },
      (error: unknown) => {
        if (this.#creating.get(streamId) === p) this.#creating.delete(streamId);
        this.#createErrors.set(streamId, asError(error));
      },
    );
    return this.stream<T>(streamId);
  }

  /**
   * Resolves once every `createStream(streamId)` this process made has reached the stream's
   * host; rejects with the host's refusal (ValidationError for another `highWaterMark`,
   * ClosedError), which then no operation receives.
   *
   * @param opts.timeout ms to wait; then `TimeoutError` (the options still travel on).
   * @example
   * ```ts
   * streams.createStream("tokens", { highWaterMark: 64 });
   * await streams.created("tokens"); // other processes now see highWaterMark 64
   * ```
   */
  async created(streamId: string, opts?: WaitOptions): Promise<void> {
    checkName(streamId, "streamId");
    const timeout = checkTimeout(opts?.timeout, `create stream ${JSON.stringify(streamId)}`);
    const signal = opts?.signal;
    signal?.throwIfAborted();
    const pending = this.#creating.get(streamId);
    if (pending !== undefined) await bounded(settled(pending), this.#runtime, timeout, signal, `create stream ${JSON.stringify(streamId)}`);
    this.#takeCreateError(streamId);
  }

  /** Appends `data` to the stream, in whichever process hosts it; waits while its buffer is full. */
  override send<T>(streamId: string, data: T, opts?: WaitOptions): Promise<void> {
    try {
      checkName(streamId, "streamId");
      const timeout = checkTimeout(opts?.timeout, `send to stream ${JSON.stringify(streamId)}`);
      opts?.signal?.throwIfAborted();
      if (this.#closed) throw new ClosedError("streaming channel");
      assertJson(data, `data sent to stream ${JSON.stringify(streamId)}`);
      const creating = this.#creating.get(streamId);
      if (creating !== undefined) return settled(creating).then(() => this.send(streamId, data, opts));
      this.#takeCreateError(streamId);
      const signal = opts?.signal;
      const body = encodeJson(data);
      return this.#routed(streamId, timeout, (route, remaining) =>
        route.owner === this.#self
          ? this.#host.send(streamId, data, { timeout: remaining, signal })
          : (this.#caller.request(route.owner, "send", streamId, body, { timeout: remaining, signal }) as Promise<void>),
      );
    } catch (error) {
      return rejected(error);
    }
  }

  /** The next item of the stream, from whichever process hosts it; undefined on timeout, or once closed and drained. */
  override receive<T>(streamId: string, opts?: WaitOptions): Promise<T | undefined> {
    try {
      checkName(streamId, "streamId");
      const timeout = checkTimeout(opts?.timeout, `receive from stream ${JSON.stringify(streamId)}`);
      opts?.signal?.throwIfAborted();
      if (this.#closed) return this.#host.receive<T>(streamId, opts);
      const creating = this.#creating.get(streamId);
      if (creating !== undefined) return settled(creating).then(() => this.receive<T>(streamId, opts));
      this.#takeCreateError(streamId);
      const signal = opts?.signal;
      return this.#routed(streamId, timeout, (route, remaining) =>
        route.owner === this.#self
          ? this.#host.receive<T>(streamId, { timeout: remaining, signal })
          : (this.#caller.request(route.owner, "receive", streamId, new Uint8Array(0), { timeout: remaining, signal }) as Promise<T | undefined>),
      );
    } catch (error) {
      return rejected(error);
    }
  }

  /**
   * The stream's items as an async iterable that ends once the stream is closed and drained;
   * `return()` (breaking out of `for await`) withdraws a pending wait, and an item the host
   * handed over before the withdrawal arrived is still returned, never lost.
   */
  override iterate<T>(streamId: string, opts?: { signal?: AbortSignal }): AsyncIterableIterator<T> {
    checkName(streamId, "streamId");
    return receiveIterator<T>((signal) => this.receive<T>(streamId, { signal }), opts?.signal);
  }

  /**
   * Closes the stream wherever it is hosted: blocked and later senders get ClosedError,
   * buffered data still drains. Reaches the host in order after this process's earlier
   * operations on the stream.
   */
  override closeStream(streamId: string): void {
    checkName(streamId, "streamId");
    if (this.#closed) return;
    const close = (route: Route): void => {
      if (route.owner === this.#self) this.#host.closeStream(streamId);
      else this.#caller.fire(route.owner, "close", streamId);
    };
    const creating = this.#creating.get(streamId);
    const route = creating === undefined ? this.#routeNow(streamId) : undefined;
    if (route !== undefined) close(route);
    else void settled(creating).then(() => this.#claims.resolve(streamId)).then(close, () => undefined);
  }

  /** The ids of the streams this process hosts (see StreamingChannel#streamIds). */
  override streamIds(): IterableIterator<string> {
    return this.#host.streamIds();
  }

  /** A snapshot of stream `streamId` if this process hosts it; otherwise undefined (see {@link fetchInfo}). */
  override info(streamId: string): StreamInfo | undefined {
    return this.#host.info(streamId);
  }

  /**
   * A snapshot of stream `streamId` from the process hosting it, or undefined if it does not
   * exist there.
   */
  async fetchInfo(streamId: string, opts?: WaitOptions): Promise<StreamInfo | undefined> {
    checkName(streamId, "streamId");
    const timeout = checkTimeout(opts?.timeout, `info of stream ${JSON.stringify(streamId)}`);
    const info = await this.#routed(streamId, timeout, (route, remaining) =>
      route.owner === this.#self
        ? Promise.resolve(this.#host.info(streamId))
        : this.#caller.request(route.owner, "info", streamId, new Uint8Array(0), { timeout: remaining, signal: opts?.signal }),
    );
    return (info ?? undefined) as StreamInfo | undefined;
  }

  /**
   * What this process has in flight across processes: its operations waiting for a host's
   * answer, the remote waits it runs as a host, and the items it handed to remote receivers
   * that have not acknowledged them yet. All zero once every wait ended. @internal
   */
  get inFlight(): { calls: number; served: number; unacked: number } {
    return { calls: this.#caller.pending, served: this.#server.served, unacked: this.#server.unacked };
  }

  /**
   * Closes the channel: the streams this process hosts close (remote senders blocked on them
   * get ClosedError, remote receivers drain what is buffered while this process is connected),
   * and this process's pending waits on streams hosted elsewhere end as in-process (senders
   * ClosedError, receivers undefined). Streams hosted by other processes stay open. Idempotent.
   */
  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    super.close();
    this.#host.close();
    this.#caller.close();
  }

  /**
   * Stops serving this process's streams and removes their claims, so other processes host
   * them afresh. Called by the backend's `close()`, after {@link close}. @internal
   */
  async shutdown(): Promise<void> {
    this.close();
    this.#server.close();
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#idle.clear();
    await this.#claims.close();
  }

  /**
   * Runs `op` on the stream's route: at once when the route is known (so operations issued in
   * order reach the host in order), else once it is resolved (queued behind the resolution, in
   * order). A host that gave the stream up answers `moved`: the operation is sent again to the
   * stream's host now, with what is left of its timeout.
   */
  #routed<R>(streamId: string, timeout: number | undefined, op: (route: Route, remaining: number | undefined) => Promise<R>): Promise<R> {
    const deadline = timeout === undefined ? undefined : this.#runtime.clock.now() + timeout;
    const attempt = (tries: number): Promise<R> => {
      const run = (route: Route): Promise<R> => {
        const remaining = deadline === undefined ? undefined : Math.max(0, deadline - this.#runtime.clock.now());
        return op(route, remaining).catch((error: unknown) => {
          if (!(error instanceof StreamMoved)) throw error;
          if (tries >= MOVED_RETRIES) throw new ClosedError(`stream ${JSON.stringify(streamId)} (it kept moving between hosts)`);
          this.#claims.forget(streamId, error.host);
          return attempt(tries + 1);
        });
      };
      const route = this.#routeNow(streamId);
      return route !== undefined ? run(route) : this.#claims.resolve(streamId).then(run);
    };
    return attempt(0);
  }

  /** The host holds nothing of the stream: give up its claim, unless an item of it may still come back. */
  #release(streamId: string): void {
    if (this.#closed || this.#server.handingOver(streamId) || this.#host.holds(streamId)) return;
    this.#claims.release(streamId);
  }

  /** An idle stream made on first use was forgotten: release its claim unless it is used again soon. */
  #idleSoon(streamId: string): void {
    if (this.#closed || !this.#claims.hosts(streamId)) return;
    this.#idle.delete(streamId);
    this.#idle.set(streamId, Date.now());
    if (this.#sweeper === undefined) {
      // Wall clock: this is bookkeeping of the mesh, not a wait on the system's clock. Unref'd.
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, this.#releaseAfter / 2));
      this.#sweeper.unref();
    }
  }

  #sweep(): void {
    const due = Date.now() - this.#releaseAfter;
    for (const [id, since] of this.#idle) {
      // Oldest first: stop at the first that is not due yet.
      if (since > due) break;
      this.#idle.delete(id);
      this.#release(id);
    }
    if (this.#idle.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** The route to use now, or undefined while it is being resolved (operations then queue behind it, in order). */
  #routeNow(streamId: string): Route | undefined {
    return this.#claims.isResolving(streamId) ? undefined : this.#claims.cached(streamId);
  }

  #takeCreateError(streamId: string): void {
    if (this.#createErrors.size === 0) return;
    const error = this.#createErrors.get(streamId);
    if (error === undefined) return;
    this.#createErrors.delete(streamId);
    throw error;
  }
}
