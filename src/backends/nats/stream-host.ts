import { headers as natsHeaders, NoRespondersError, RequestError, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { StreamingChannel } from "../../channels/streaming.js";
import { ClosedError, ValidationError } from "../../errors.js";
import { passThrough } from "../../runtime/pass-through.js";
import { decodeKey } from "./key-codec.js";
import type { StreamClaims } from "./stream-claims.js";
import { isStreamOp, type StreamControl, type StreamOp, type StreamSubjects } from "./stream-wire.js";
import { publishBestEffort, Ticker } from "./liveness.js";
import { decodeJson, encodeError, encodeJson, Header } from "./wire.js";

/** A wait this host runs for a caller in another process. */
interface Incoming {
  readonly streamId: string;
  readonly controller: AbortController;
  /** The caller wants progress frames. */
  readonly frames: boolean;
  /** The caller takes nothing any more (it closed): an item it would get goes back. */
  gone: boolean;
}

/** An item handed to a remote receiver, kept until it says it took it. */
interface Unacked {
  readonly streamId: string;
  readonly item: unknown;
  readonly since: number;
}

/**
 * The host side of streams across processes: serves the operations other processes send to
 * the streams this process hosts, on the in-process channel `streams` (so FIFO,
 * highWaterMark, backpressure and closing are exactly the in-process ones).
 *
 * The host decides the outcome of every remote wait: a send is answered once its item is
 * buffered (backpressure crosses the wire), a receive with the item it took; the caller's
 * deadline travels with the request, and a caller that gives up sends a cancel, which aborts
 * the wait here unless it already ended. A received item is kept until the caller acks it; a
 * nack, a cancel from a caller that is gone, or no ack within three heartbeats puts the item
 * back at the head of its stream, so an item is never lost to a caller that gave up.
 * @internal
 */
export class StreamHost {
  readonly #nc: NatsConnection;
  readonly #subjects: StreamSubjects;
  readonly #self: string;
  readonly #claims: StreamClaims;
  readonly #streams: StreamingChannel;
  readonly #heartbeat: number;
  readonly #sub: Subscription;
  readonly #opIndex: number;
  readonly #incoming = new Map<string, Incoming>();
  readonly #unacked = new Map<string, Unacked>();
  /** Callers asked whether they are still there, awaiting the answer. */
  readonly #pinging = new Set<string>();
  /** Operations on streams this process is claiming back, by reply subject. */
  readonly #admitting = new Map<string, { cancelled: boolean }>();
  #ticker: Ticker | undefined;
  #closed = false;

  constructor(nc: NatsConnection, subjects: StreamSubjects, self: string, claims: StreamClaims, streams: StreamingChannel, heartbeatMs: number) {
    this.#nc = nc;
    this.#subjects = subjects;
    this.#self = self;
    this.#claims = claims;
    this.#streams = streams;
    this.#heartbeat = heartbeatMs;
    this.#opIndex = subjects.opIndex;
    this.#sub = nc.subscribe(subjects.hostAll(self), { callback: (err, m) => {
        if (err === null) this.#onMessage(m);
      } });
  }

  /** Remote waits running here. */
  get served(): number {
    return this.#incoming.size;
  }

  /** Items handed to remote receivers and not acknowledged yet. */
  get unacked(): number {
    return this.#unacked.size;
  }

  /** Whether an item of stream `streamId` is on its way to a remote receiver (it may come back). */
  handingOver(streamId: string): boolean {
    for (const u of this.#unacked.values()) if (u.streamId === streamId) return true;
    return false;
  }

  /** Stops serving: unsubscribes; unacknowledged items go back to their streams. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sub.unsubscribe();
    for (const inc of this.#incoming.values()) inc.controller.abort(new ClosedError("stream host"));
    this.#incoming.clear();
    for (const [reply, u] of this.#unacked) this.#putBack(reply, u);
    this.#ticker?.stop();
  }

  #onMessage(m: Msg): void {
    const tokens = m.subject.split(".");
    const op = tokens[this.#opIndex];
    if (op === "ctl") {
      this.#onControl(m);
      return;
    }
    const streamId = decodeKey(tokens[this.#opIndex + 1] ?? "");
    if (op === undefined || !isStreamOp(op) || streamId === undefined || tokens.length !== this.#opIndex + 2) {
      this.#answerError(m.reply, passThrough(new ValidationError(`not a stream operation: ${m.subject}`, [{ path: ["subject"], message: "unknown stream operation" }])));
      return;
    }
    if (!this.#claims.hosts(streamId)) {
      void this.#admit(op, streamId, m);
      return;
    }
    try {
      this.#serve(op, streamId, m);
    } catch (error) {
      this.#answerError(m.reply, error);
    }
  }

  /**
   * An operation on a stream this process does not host (any more): the caller's route is
   * stale. Claims the stream if it is free (the operation is then its first use) and serves it;
   * if another process hosts it now, answers `moved` (a close is passed on to that process).
   */
  async #admit(op: StreamOp, streamId: string, m: Msg): Promise<void> {
    // A cancel may overtake the operation while it is being admitted.
    const reply = m.reply ?? "";
    const admitting = { cancelled: false };
    if (reply !== "") this.#admitting.set(reply, admitting);
    let owner: string;
    try {
      owner = (await this.#claims.resolve(streamId)).owner;
    } catch (error) {
      this.#answerError(m.reply, error);
      return;
    } finally {
      this.#admitting.delete(reply);
    }
    if (this.#closed) return;
    if (admitting.cancelled) {
      this.#answerError(reply, Object.assign(new Error("the caller gave up"), { name: "AbortError" }));
    } else if (owner === this.#self) {
      try {
        this.#serve(op, streamId, m);
      } catch (error) {
        this.#answerError(m.reply, error);
      }
    } else if (op === "close") {
      this.#publish(this.#subjects.op(owner, "close", streamId), new Uint8Array(0));
    } else {
      this.#answer(m.reply, "moved", encodeJson({ owner }));
    }
  }

  #serve(op: StreamOp, streamId: string, m: Msg): void {
    const streams = this.#streams;
    switch (op) {
      case "close":
        streams.closeStream(streamId);
        return;
      case "create": {
        const body = decodeJson(m.data) as { highWaterMark?: unknown } | undefined;
        const hwm = body?.highWaterMark;
        streams.createStream(streamId, hwm === undefined ? undefined : { highWaterMark: hwm as number });
        this.#answer(m.reply, "ok", new Uint8Array(0));
        return;
      }
      case "info":
        this.#answer(m.reply, "ok", encodeJson(streams.info(streamId) ?? null));
        return;
      case "send":
      case "receive":
        this.#wait(op, streamId, m);
    }
  }

  /** Runs a send or receive for a remote caller, with its deadline and a cancellable signal. */
  #wait(op: "send" | "receive", streamId: string, m: Msg): void {
    const reply = m.reply;
    if (reply === undefined || reply === "") {
      // Nobody to answer (a plain publish): a send still sends, without waiting; a receive would lose its item.
      if (op === "send") void this.#streams.send(streamId, decodeJson(m.data), { timeout: 0 }).catch(() => undefined);
      return;
    }
    const h = m.headers;
    const t = Number(h?.get(Header.timeout) || NaN);
    const timeout = Number.isFinite(t) && t >= 0 ? t : undefined;
    const inc: Incoming = { streamId, controller: new AbortController(), frames: (h?.get(Header.heartbeat) ?? "") !== "", gone: false };
    const opts = { signal: inc.controller.signal, ...(timeout === undefined ? {} : { timeout }) };
    this.#incoming.set(reply, inc);
    const done = (): boolean => {
      if (this.#incoming.get(reply) !== inc) return false;
      this.#incoming.delete(reply);
      return true;
    };
    if (op === "send") {
      this.#streams.send(streamId, decodeJson(m.data), opts).then(
        () => {
          if (done()) this.#answer(reply, "ok", new Uint8Array(0));
        },
        (error: unknown) => {
          if (done()) this.#answerError(reply, error);
        },
      );
    } else {
      this.#streams.receive(streamId, opts).then(
        (item) => {
          const current = done();
          if (item === undefined) {
            if (current) this.#answer(reply, "ok", encodeJson({}));
            return;
          }
          const u: Unacked = { streamId, item, since: Date.now() };
          // The caller closed meanwhile: it takes nothing.
          if (!current || inc.gone) {
            this.#putBack(reply, u);
            return;
          }
          this.#unacked.set(reply, u);
          this.#answer(reply, "ok", encodeJson({ item }));
        },
        (error: unknown) => {
          if (done()) this.#answerError(reply, error);
        },
      );
    }
    this.#watch();
  }

  /**
   * Asks a covey caller with waits here whether it is still connected: no responders means it
   * is gone (killed, disconnected), so its waits end as if it had cancelled them as gone and its
   * unacknowledged items go back. One question per caller at a time.
   */
  #ping(caller: string): void {
    if (this.#pinging.has(caller) || this.#nc.isClosed()) return;
    this.#pinging.add(caller);
    this.#nc
      .request(this.#subjects.ping(caller), new Uint8Array(0), { timeout: 3 * this.#heartbeat })
      .then(
        () => undefined,
        (error: unknown) => {
          if (isNoResponders(error)) this.#callerGone(caller);
        },
      )
      .finally(() => this.#pinging.delete(caller));
  }

  #callerGone(caller: string): void {
    for (const [reply, inc] of [...this.#incoming]) {
      if (this.#subjects.callerOfReply(reply) !== caller) continue;
      inc.gone = true;
      inc.controller.abort(new ClosedError("the remote caller"));
    }
    for (const [reply, u] of [...this.#unacked]) if (this.#subjects.callerOfReply(reply) === caller) this.#putBack(reply, u);
  }

  #onControl(m: Msg): void {
    let c: Partial<StreamControl>;
    try {
      c = decodeJson(m.data) as Partial<StreamControl>;
    } catch {
      return;
    }
    if (c === null || typeof c !== "object" || typeof c.reply !== "string") return;
    const reply = c.reply;
    if (c.kind === "ack") {
      this.#unacked.delete(reply);
      return;
    }
    if (c.kind === "nack") {
      const u = this.#unacked.get(reply);
      if (u !== undefined) this.#putBack(reply, u);
      return;
    }
    if (c.kind !== "cancel") return;
    const admitting = this.#admitting.get(reply);
    if (admitting !== undefined) admitting.cancelled = true;
    const inc = this.#incoming.get(reply);
    if (inc !== undefined) {
      if (c.gone === true) inc.gone = true;
      const text = typeof c.message === "string" ? c.message : "the caller gave up";
      inc.controller.abort(c.reason === "closed" ? new ClosedError("the remote caller") : Object.assign(new Error(text), { name: "AbortError" }));
      return;
    }
    // Answered already: a caller that is gone will not take the item.
    const u = this.#unacked.get(reply);
    if (u !== undefined && c.gone === true) this.#putBack(reply, u);
  }

  #putBack(reply: string, u: Unacked): void {
    this.#unacked.delete(reply);
    this.#streams.putBack(u.streamId, u.item);
  }

  #answer(reply: string | undefined, status: "ok" | "error" | "moved", body: Uint8Array): void {
    if (reply === undefined || reply === "") return;
    const h: MsgHdrs = natsHeaders();
    h.set(Header.status, status);
    this.#publish(reply, body, h);
  }

  #answerError(reply: string | undefined, error: unknown): void {
    this.#answer(reply, "error", encodeJson(encodeError(error)));
  }

  #publish(subject: string, body: Uint8Array, headers?: MsgHdrs): void {
    publishBestEffort(this.#nc, subject, body, headers);
  }

  /**
   * One wall-clock interval while remote waits or unacknowledged items exist: progress frames
   * to the callers that asked for them, and items not acknowledged within three intervals
   * back to their streams (their receiver died). Unref'd.
   */
  #watch(): void {
    if (this.#closed) return;
    (this.#ticker ??= new Ticker(this.#heartbeat, () => this.#tick())).start();
  }

  #tick(): void {
    const callers = new Set<string>();
    for (const [reply, inc] of this.#incoming) {
      const caller = this.#subjects.callerOfReply(reply);
      if (caller !== undefined) callers.add(caller);
      if (!inc.frames) continue;
      const h = natsHeaders();
      h.set(Header.status, "working");
      this.#publish(reply, new Uint8Array(0), h);
    }
    for (const caller of callers) this.#ping(caller);
    const stale = Date.now() - 3 * this.#heartbeat - 50;
    for (const [reply, u] of [...this.#unacked]) if (u.since < stale) this.#putBack(reply, u);
    if (this.#incoming.size === 0 && this.#unacked.size === 0) this.#ticker?.stop();
  }
}

function isNoResponders(error: unknown): boolean {
  return error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders());
}
