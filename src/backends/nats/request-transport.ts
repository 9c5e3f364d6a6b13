import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Message, RequestHandler } from "../../channels/message.js";
import type { ReplySink, RequestScope, RequestTransport } from "../../channels/transport.js";
import { ClosedError, CoveyError, TimeoutError, ValidationError } from "../../errors.js";
import { passThrough } from "../../runtime/pass-through.js";
import type { Runtime } from "../../runtime/runtime.js";
import { fromNats } from "./nats-errors.js";
import { encodePayload } from "./payload.js";
import { decodeError, decodeJson, encodeError, encodeJson, Header, QUEUE, type Subjects, type WireError } from "./wire.js";
import { publishBestEffort, Ticker } from "./liveness.js";

/** Options of the NATS request transport. */
export interface NatsRequestOptions {
  /**
   * Progress frames a responder sends while a covey caller waits, in ms. A caller that hears
   * nothing for three intervals fails the request with ClosedError (the responder died).
   * @default 500
   */
  heartbeatMs?: number;
}

interface Outgoing {
  readonly sink: ReplySink;
  readonly recipient: string;
  readonly reply: string;
  last: number;
}

/** A request this process is answering. */
class Incoming implements RequestScope {
  readonly deadlineAt: number;
  readonly reply: string;
  readonly frames: boolean;
  done = false;
  cancelled = false;
  cancelReason: unknown = undefined;
  onEnd: ((cancelled: boolean, reason: unknown) => void) | undefined = undefined;

  constructor(deadlineAt: number, reply: string, frames: boolean) {
    this.deadlineAt = deadlineAt;
    this.reply = reply;
    this.frames = frames;
  }

  end(cancelled: boolean, reason: unknown): void {
    if (this.done) return;
    this.done = true;
    if (cancelled) {
      this.cancelled = true;
      this.cancelReason = reason;
    }
    const fn = this.onEnd;
    this.onEnd = undefined;
    fn?.(cancelled, reason);
  }
}

class Group {
  readonly handlers: RequestHandler[] = [];
  next = 0;
  sub: Subscription | undefined;
}

/**
 * Requests over NATS: one subject per recipient (`covey.<mesh>.agent.<name>`), every
 * responding process subscribed in queue group `covey`, so NATS hands each request to one
 * process; inside it, local handlers take turns.
 *
 * Covey callers ask for progress frames (`Covey-Heartbeat`): the responder sends a `working` frame
 * every interval while the handler runs (a quick answer costs no extra message), so a responder that dies mid-request is
 * noticed within about three intervals, not at the caller's timeout. When a caller gives up
 * (timeout, abort, close), it publishes a cancellation that reaches the handler's scope
 * (`ctx.signal`). With no subscriber on the subject the server answers 503 at once:
 * NoResponderError. Plain NATS clients get exactly one reply.
 *
 * Payloads are checked to be JSON data before they are sent (as a test system does in-process):
 * a request payload that is not is the caller's `ValidationError`, a reply that is not is a
 * `HandlerError` whose cause is one. A closed or draining connection is `ClosedError`; no NATS
 * client class reaches the channel (see `fromNats`).
 * @internal
 */
export class NatsRequestTransport implements RequestTransport {
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #runtime: Runtime;
  readonly #heartbeat: number;
  readonly #replyPrefix: string;
  readonly #groups = new Map<string, Group>();
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #incoming = new Map<string, Incoming>();
  readonly #replySub: Subscription;
  readonly #cancelSub: Subscription;
  #seq = 0;
  #ticker: Ticker | undefined;
  #closed = false;

  constructor(nc: NatsConnection, subjects: Subjects, processId: string, runtime: Runtime, opts: NatsRequestOptions = {}) {
    this.#nc = nc;
    this.#subjects = subjects;
    this.#runtime = runtime;
    this.#heartbeat = opts.heartbeatMs ?? 500;
    this.#replyPrefix = subjects.replies(processId);
    this.#replySub = subscribe(nc, `${this.#replyPrefix}.>`, "listen for replies", (m) => this.#onReply(m));
    this.#cancelSub = subscribe(nc, subjects.cancel, "listen for cancellations", (m) => this.#onCancel(m));
  }

  addResponder(recipient: string, handler: RequestHandler): () => void {
    let group = this.#groups.get(recipient);
    if (group === undefined) {
      const g = new Group();
      g.sub = subscribe(this.#nc, this.#subjects.agent(recipient), `serve ${JSON.stringify(recipient)}`, (m) => this.#onRequest(recipient, g, m), QUEUE);
      this.#groups.set(recipient, g);
      group = g;
    }
    group.handlers.push(handler);
    const g = group;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const i = g.handlers.indexOf(handler);
      if (i >= 0) g.handlers.splice(i, 1);
      if (g.next >= g.handlers.length) g.next = 0;
      if (g.handlers.length === 0 && this.#groups.get(recipient) === g) {
        this.#groups.delete(recipient);
        g.sub?.unsubscribe();
      }
    };
  }

  /** Whether this process answers `recipient` (other processes are found through the catalog). */
  hasResponder(recipient: string): boolean {
    return this.#groups.has(recipient);
  }

  send(request: Message, sink: ReplySink): void {
    if (this.#closed) {
      sink.fail(passThrough(new ClosedError("NATS request transport")));
      return;
    }
    const recipient = request.recipient!;
    const reply = `${this.#replyPrefix}.${++this.#seq}`;
    const h = natsHeaders();
    h.set(Header.id, request.id);
    h.set(Header.sender, request.sender);
    h.set(Header.heartbeat, String(this.#heartbeat));
    const remaining = sink.deadlineAt - this.#runtime.clock.now();
    if (Number.isFinite(remaining)) h.set(Header.timeout, String(Math.max(0, Math.round(remaining))));
    let body: Uint8Array;
    try {
      body = encodePayload(request.payload, `request payload to ${JSON.stringify(recipient)}`);
    } catch (error) {
      // The caller's own mistake, as in a test system: its ValidationError, not a HandlerError.
      sink.fail(passThrough(error as Error));
      return;
    }
    const out: Outgoing = { sink, recipient, reply, last: Date.now() };
    this.#outgoing.set(reply, out);
    sink.onEnd = (cancelled, reason) => {
      this.#outgoing.delete(reply);
      if (cancelled && !this.#closed) this.#sendCancel(reply, reason);
    };
    try {
      this.#nc.publish(this.#subjects.agent(recipient), body, { reply, headers: h });
    } catch (error) {
      // The connection is closed or draining: nothing was sent. A disconnected client buffers
      // instead, and the heartbeats or the deadline end the request.
      const mapped = fromNats(error, { operation: `request to ${JSON.stringify(recipient)}` });
      sink.fail(passThrough(mapped instanceof CoveyError ? mapped : new ClosedError(`NATS connection (${String(error)})`)));
      return;
    }
    this.#watch();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const g of this.#groups.values()) g.sub?.unsubscribe();
    this.#groups.clear();
    this.#replySub.unsubscribe();
    this.#cancelSub.unsubscribe();
    for (const inc of this.#incoming.values()) inc.end(true, new ClosedError("NATS request transport"));
    this.#incoming.clear();
    this.#ticker?.stop();
  }

  #onReply(m: Msg): void {
    const out = this.#outgoing.get(m.subject);
    if (out === undefined) return;
    out.last = Date.now();
    const h = m.headers;
    if (h !== undefined && h.code === 503) {
      out.sink.noResponder();
      return;
    }
    const status = h?.get(Header.status) ?? "ok";
    if (status === "working") return;
    try {
      if (status === "error") out.sink.fail(decodeError(decodeJson(m.data) as WireError));
      else out.sink.reply(decodeJson(m.data));
    } catch (error) {
      // A responder that is not covey answered with something that is not JSON.
      out.sink.fail(error instanceof CoveyError ? error : notJson(`reply from ${JSON.stringify(out.recipient)}`, error));
    }
  }

  #onRequest(recipient: string, g: Group, m: Msg): void {
    const h = m.headers;
    const reply = m.reply;
    const now = this.#runtime.clock.now();
    const timeout = Number(h?.get(Header.timeout) || NaN);
    const frames = (h?.get(Header.heartbeat) ?? "") !== "";
    const scope = new Incoming(Number.isFinite(timeout) ? now + timeout : Infinity, reply ?? "", frames);
    if (reply !== undefined && reply !== "") {
      this.#incoming.set(reply, scope);
      this.#watch();
    }
    const finish = (status: "ok" | "error", body: Uint8Array): void => {
      if (reply !== undefined && reply !== "") {
        if (this.#incoming.get(reply) !== scope) return;
        this.#incoming.delete(reply);
        if (!this.#closed) this.#respond(reply, status, body);
      }
      scope.end(false, undefined);
    };
    const fail = (error: unknown): void => finish("error", encodeJson(encodeError(error)));
    const handler = g.handlers[g.next];
    if (handler === undefined) {
      fail(passThrough(new ClosedError(`agent ${JSON.stringify(recipient)}`)));
      return;
    }
    g.next = g.next + 1 >= g.handlers.length ? 0 : g.next + 1;
    let payload: unknown;
    try {
      payload = decodeJson(m.data);
    } catch (error) {
      fail(passThrough(error instanceof CoveyError ? error : notJson(`request payload to ${JSON.stringify(recipient)}`, error)));
      return;
    }
    const message: Message = {
      id: h?.get(Header.id) || this.#runtime.ids.next("msg"),
      sender: h?.get(Header.sender) || "nats",
      pattern: "request_reply",
      recipient,
      payload,
      timestamp: now,
    };
    let result: unknown;
    try {
      result = handler(message, scope);
    } catch (error) {
      fail(error);
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        let body: Uint8Array;
        try {
          body = encodePayload(value, `reply from ${JSON.stringify(recipient)}`);
        } catch (error) {
          fail(error);
          return;
        }
        finish("ok", body);
      },
      fail,
    );
  }

  #onCancel(m: Msg): void {
    let note: { reply?: unknown; reason?: unknown; message?: unknown };
    try {
      note = decodeJson(m.data) as typeof note;
    } catch {
      return;
    }
    if (typeof note.reply !== "string") return;
    const scope = this.#incoming.get(note.reply);
    if (scope === undefined) return;
    this.#incoming.delete(note.reply);
    const text = typeof note.message === "string" ? note.message : "the caller gave up";
    const reason =
      note.reason === "timeout"
        ? Object.assign(new TimeoutError("remote caller", 0), { message: text })
        : note.reason === "closed"
          ? new ClosedError("the remote caller")
          : Object.assign(new Error(text), { name: "AbortError" });
    scope.end(true, reason);
  }

  #sendCancel(reply: string, reason: unknown): void {
    const kind = reason instanceof TimeoutError ? "timeout" : reason instanceof ClosedError ? "closed" : "abort";
    const message = reason instanceof Error ? reason.message : "aborted";
    this.#publish(this.#subjects.cancel, encodeJson({ reply, reason: kind, message }));
  }

  #respond(reply: string, status: "ok" | "error", body: Uint8Array): void {
    const h: MsgHdrs = natsHeaders();
    h.set(Header.status, status);
    this.#publish(reply, body, h);
  }

  #frame(reply: string, status: "working"): void {
    const h = natsHeaders();
    h.set(Header.status, status);
    this.#publish(reply, new Uint8Array(0), h);
  }

  /** Publishes what nobody waits on here (replies, frames, cancellations); lost when the connection is gone. */
  #publish(subject: string, body: Uint8Array, headers?: MsgHdrs): void {
    publishBestEffort(this.#nc, subject, body, headers);
  }

  /**
   * One interval for the whole process while requests are in flight either way: responders
   * send progress frames, callers fail requests whose responder fell silent. Wall-clock time:
   * liveness is about the network, not the system's (possibly virtual) clock. Unref'd.
   */
  #watch(): void {
    if (this.#closed) return;
    (this.#ticker ??= new Ticker(this.#heartbeat, () => this.#tick())).start();
  }

  #tick(): void {
    for (const [reply, scope] of this.#incoming) if (scope.frames) this.#frame(reply, "working");
    const silent = Date.now() - 3 * this.#heartbeat - 50;
    for (const out of [...this.#outgoing.values()]) {
      if (out.last < silent) {
        out.sink.fail(passThrough(new ClosedError(`the instance of ${JSON.stringify(out.recipient)} handling this request (no sign of life for ${3 * this.#heartbeat} ms)`)));
      }
    }
    if (this.#incoming.size === 0 && this.#outgoing.size === 0) this.#ticker?.stop();
  }
}

/** Subscribes `fn` to `subject`; a closed or draining connection throws covey's ClosedError. */
function subscribe(nc: NatsConnection, subject: string, what: string, fn: (m: Msg) => void, queue?: string): Subscription {
  try {
    return nc.subscribe(subject, {
      ...(queue === undefined ? {} : { queue }),
      callback: (err, m) => {
        if (err === null) fn(m);
        // The server ended the subscription (a permissions violation): say so, never silently.
        else process.emitWarning(`covey: NATS ended the subscription to ${subject} (${what}): ${err.message}`, { code: "COVEY_NATS_SUBSCRIPTION_FAILED" });
      },
    });
  } catch (error) {
    throw fromNats(error, { operation: what });
  }
}

function notJson(what: string, cause: unknown): ValidationError {
  return new ValidationError(`${what} is not JSON`, [{ path: [], message: "not JSON" }], { cause });
}
