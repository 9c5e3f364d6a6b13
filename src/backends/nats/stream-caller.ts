import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { ClosedError } from "../../errors.js";
import { onAbort } from "../../runtime/abort.js";
import type { StreamOp, StreamControl, StreamSubjects, ReceiveAnswer } from "./stream-wire.js";
import { publishBestEffort, Ticker } from "./liveness.js";
import { decodeError, decodeJson, encodeJson, Header, type WireError } from "./wire.js";

/**
 * The process asked no longer hosts the stream (it gave it up after the stream ended; another
 * process hosts it now): ask the claims bucket and send the operation again.
 * @internal
 */
export class StreamMoved extends Error {
  /** The process that was asked. */
  readonly host: string;

  constructor(host: string) {
    super(`the stream moved away from process ${host}`);
    this.name = "StreamMoved";
    this.host = host;
  }
}

/** An operation waiting for its host's answer. */
interface Outgoing {
  readonly host: string;
  readonly op: StreamOp;
  readonly streamId: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Last sign of life from the host (wall clock). */
  last: number;
  /** Removes the abort listener. */
  off: (() => void) | undefined;
  /** Set when the caller's signal aborted: the answer still decides, but an error becomes this. */
  aborted: { reason: unknown } | undefined;
}

/**
 * The caller side of streams across processes: sends operations to the process hosting a
 * stream and waits for its answer. The host decides every outcome: on abort the caller sends
 * a cancel and still takes the answer (an item the host handed over before the cancel
 * arrived is delivered, never dropped); a receive's item is acknowledged. A host that falls
 * silent (no progress frame for three heartbeats) or whose subject has no responders fails
 * the operation with ClosedError at once: a stream's buffer lives in its host process.
 * @internal
 */
export class StreamCaller {
  readonly #nc: NatsConnection;
  readonly #subjects: StreamSubjects;
  readonly #self: string;
  readonly #heartbeat: number;
  readonly #onHostGone: (host: string) => void;
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #sub: Subscription;
  readonly #ping: string;
  #seq = 0;
  #ticker: Ticker | undefined;
  #closed = false;

  constructor(nc: NatsConnection, subjects: StreamSubjects, self: string, heartbeatMs: number, onHostGone: (host: string) => void) {
    this.#nc = nc;
    this.#subjects = subjects;
    this.#self = self;
    this.#heartbeat = heartbeatMs;
    this.#onHostGone = onHostGone;
    this.#ping = subjects.ping(self);
    this.#sub = nc.subscribe(subjects.repliesAll(self), { callback: (err, m) => {
        if (err === null) this.#onReply(m);
      } });
  }

  /** Operations waiting for an answer. */
  get pending(): number {
    return this.#outgoing.size;
  }

  /**
   * Asks `host` to run `op` on `streamId` and resolves with its answer (the item of a receive,
   * `undefined` for none). The publish happens before this returns, so operations issued in
   * order reach the host in order.
   */
  request(host: string, op: Exclude<StreamOp, "close">, streamId: string, body: Uint8Array, opts: { timeout?: number | undefined; signal?: AbortSignal | undefined }): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ClosedError("streaming channel"));
    const signal = opts.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const reply = this.#subjects.reply(this.#self, host, ++this.#seq);
    const h = natsHeaders();
    h.set(Header.heartbeat, String(this.#heartbeat));
    if (opts.timeout !== undefined) h.set(Header.timeout, String(Math.max(0, Math.round(opts.timeout))));
    return new Promise<unknown>((resolve, reject) => {
      const out: Outgoing = { host, op, streamId, resolve, reject, last: Date.now(), off: undefined, aborted: undefined };
      this.#outgoing.set(reply, out);
      if (signal !== undefined) {
        out.off = onAbort(signal, (reason) => {
          out.off = undefined;
          if (this.#outgoing.get(reply) !== out) return;
          out.aborted = { reason };
          this.#control(host, { reply, kind: "cancel", reason: "abort", message: reason instanceof Error ? reason.message : "aborted" });
        });
      }
      try {
        this.#nc.publish(this.#subjects.op(host, op, streamId), body, { reply, headers: h });
      } catch (error) {
        this.#settle(reply, out);
        reject(new ClosedError(`NATS connection (${error instanceof Error ? error.message : "publish failed"})`));
        return;
      }
      this.#watch();
    });
  }

  /** Sends `op` without waiting for an answer (close). */
  fire(host: string, op: "close", streamId: string): void {
    if (this.#closed || this.#nc.isClosed()) return;
    try {
      this.#nc.publish(this.#subjects.op(host, op, streamId), new Uint8Array(0));
    } catch {
      // The connection is gone: so is every stream this process could reach.
    }
  }

  /**
   * Ends every pending operation as closing the channel ends local waits (receives with
   * `undefined`, the others with ClosedError) and tells each host the caller is gone, so an
   * item already on its way goes back to the head of its stream. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [reply, out] of [...this.#outgoing]) {
      this.#settle(reply, out);
      this.#control(out.host, { reply, kind: "cancel", gone: true, reason: "closed" });
      if (out.op === "receive") out.resolve(undefined);
      else out.reject(new ClosedError("streaming channel"));
    }
    this.#sub.unsubscribe();
    this.#ticker?.stop();
  }

  #onReply(m: Msg): void {
    const reply = m.subject;
    if (reply === this.#ping) {
      // A host with waits of ours asks whether we are still here.
      m.respond();
      return;
    }
    const out = this.#outgoing.get(reply);
    const h = m.headers;
    if (out === undefined) {
      // An answer nobody waits for any more (the wait failed on silence): hand its item back.
      if (h?.get(Header.status) === "ok") this.#handBack(reply, m.data);
      return;
    }
    out.last = Date.now();
    if (h !== undefined && h.code === 503) {
      this.#settle(reply, out);
      this.#onHostGone(out.host);
      out.reject(out.aborted !== undefined ? out.aborted.reason : this.#gone(out, "is gone"));
      return;
    }
    const status = h?.get(Header.status) ?? "ok";
    if (status === "working") return;
    this.#settle(reply, out);
    if (status === "moved") {
      out.reject(out.aborted !== undefined ? out.aborted.reason : new StreamMoved(out.host));
      return;
    }
    if (status === "error") {
      if (out.aborted !== undefined) {
        out.reject(out.aborted.reason);
        return;
      }
      let error: Error;
      try {
        error = decodeError(decodeJson(m.data) as WireError);
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      out.reject(error);
      return;
    }
    let value: unknown;
    try {
      value = decodeJson(m.data);
    } catch (error) {
      out.reject(error);
      return;
    }
    if (out.op === "receive") {
      const answer = (value ?? {}) as ReceiveAnswer;
      if ("item" in answer) this.#control(out.host, { reply, kind: "ack" });
      out.resolve(answer.item);
      return;
    }
    out.resolve(value);
  }

  #handBack(reply: string, data: Uint8Array): void {
    const host = this.#subjects.hostOfReply(reply);
    if (host === undefined) return;
    try {
      const answer = decodeJson(data) as ReceiveAnswer | undefined;
      if (answer !== null && typeof answer === "object" && "item" in answer) this.#control(host, { reply, kind: "nack" });
    } catch {
      // Not a receive answer.
    }
  }

  #settle(reply: string, out: Outgoing): void {
    this.#outgoing.delete(reply);
    out.off?.();
    out.off = undefined;
  }

  #gone(out: Outgoing, what: string): ClosedError {
    return new ClosedError(`stream ${JSON.stringify(out.streamId)} (its host process ${out.host} ${what}; what it buffered is lost)`);
  }

  // Lost with the connection: the host then puts unacknowledged items back on its own.
  #control(host: string, c: StreamControl): void {
    publishBestEffort(this.#nc, this.#subjects.control(host), encodeJson(c));
  }

  /** One wall-clock interval while operations are pending: fail those whose host fell silent. Unref'd. */
  #watch(): void {
    if (this.#closed) return;
    (this.#ticker ??= new Ticker(this.#heartbeat, () => this.#tick())).start();
  }

  #tick(): void {
    const silent = Date.now() - 3 * this.#heartbeat - 50;
    for (const [reply, out] of [...this.#outgoing]) {
      if (out.last >= silent) continue;
      this.#settle(reply, out);
      out.reject(this.#gone(out, `gave no sign of life for ${3 * this.#heartbeat} ms`));
    }
    if (this.#outgoing.size === 0) this.#ticker?.stop();
  }
}
