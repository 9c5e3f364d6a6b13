import { ClosedError, ValidationError } from "../errors.js";
import { onAbort } from "../runtime/abort.js";
import { assertJson } from "../runtime/json.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import { checkName, checkTimeout, type WaitOptions } from "../runtime/wait.js";
import type { Message, RequestHandler } from "./message.js";
import { PendingList, PendingRequest, promiseOf } from "./pending-request.js";
import { InProcessRequestTransport } from "./request-transport.js";
import type { RequestTransport } from "./transport.js";

const resolved = Promise.resolve();

/** Default `timeout` of {@link RequestReplyChannel.request}, in ms. */
const DEFAULT_TIMEOUT = 30_000;

/** One request in flight, as {@link RequestReplyChannel.pendingRequests} lists it. */
export interface PendingRequestInfo {
  /** The request message's id (`msg-n`). */
  readonly id: string;
  /** The caller. */
  readonly from: string;
  /** The recipient (an agent name or id). */
  readonly to: string;
  /** Clock time the request was sent, in ms. */
  readonly since: number;
}

/** Options of a {@link RequestReplyChannel}. */
export interface RequestReplyOptions extends RuntimeOptions {
  /** @internal where requests travel; in-process unless a backend is given. */
  transport?: RequestTransport;
}

/**
 * Request-reply between named parties: a caller sends a payload to a recipient and waits
 * for the one reply of one of its handlers.
 *
 * Several handlers registered for one recipient form a queue group: each request goes to
 * exactly one of them, round robin. Deadlines share the runtime's single timer, so a
 * pending request costs no timer of its own.
 *
 * @example
 * ```ts
 * const rr = new RequestReplyChannel();
 * rr.registerHandler("math", (m) => (m.payload as number[]).reduce((a, b) => a + b, 0));
 * const sum = await rr.request<number>("me", "math", [1, 2, 3]); // 6
 * ```
 */
export class RequestReplyChannel {
  readonly #runtime: Runtime;
  readonly #transport: RequestTransport;
  readonly #pending: PendingList;
  // Requests whose deadline is not armed yet, oldest first (linked through nextUnarmed).
  #unarmedHead: PendingRequest | undefined;
  #unarmedTail: PendingRequest | undefined;
  #closed = false;

  constructor(opts?: RequestReplyOptions) {
    this.#runtime = resolveRuntime(opts);
    this.#transport = opts?.transport ?? new InProcessRequestTransport(this.#runtime);
    this.#pending = new PendingList(this.#runtime);
  }

  /** Requests sent and not yet answered, failed, timed out, aborted or closed. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * The requests in flight now, newest first: each one's message id, caller, recipient and
   * the clock time it was sent. A snapshot for inspection (a stuck-call report, a dashboard);
   * O(requests in flight), nothing is kept between calls.
   *
   * @example
   * ```ts
   * for (const r of hub.requestReply.pendingRequests()) console.log(`${r.from} -> ${r.to} since ${r.since}`);
   * ```
   */
  pendingRequests(): PendingRequestInfo[] {
    const out: PendingRequestInfo[] = [];
    for (let p = this.#pending.head; p !== undefined; p = p.next) {
      const m = p.message;
      out.push({ id: m.id, from: m.sender, to: m.recipient!, since: m.timestamp });
    }
    return out;
  }

  /**
   * Calls `fn` once when no request is in flight: at once if none is, else when the last one
   * ends. Lets a waiter sleep instead of polling. @internal
   */
  whenDrained(fn: () => void): void {
    if (this.#pending.size === 0) fn();
    else (this.#pending.drained ??= []).push(fn);
  }

  /** Whether at least one handler is registered for `recipient`. */
  hasHandler(recipient: string): boolean {
    return this.#transport.hasResponder(recipient);
  }

  /**
   * Registers `handler` to answer requests addressed to `recipient`. Its return value (or
   * what its promise resolves to) is the reply; a throw or rejection reaches the caller as
   * a `HandlerError`. Registering several handlers for one recipient makes a queue group
   * (round robin, each request handled once); the same function registered twice is two
   * members.
   *
   * @returns an idempotent function that unregisters exactly this registration.
   * @throws ClosedError after {@link close}; ValidationError for an empty recipient.
   * @example
   * ```ts
   * const off = rr.registerHandler("echo", (m) => m.payload);
   * off();
   * ```
   */
  registerHandler(recipient: string, handler: RequestHandler): () => void {
    if (this.#closed) throw new ClosedError("request-reply channel");
    checkName(recipient, "recipient");
    if (typeof handler !== "function") {
      throw new ValidationError("handler must be a function", [{ path: ["handler"], message: "must be a function" }]);
    }
    return this.#transport.addResponder(recipient, handler);
  }

  /**
   * Sends `payload` to `recipient` and resolves with the reply.
   *
   * Rejects with `NoResponderError` at once when nobody handles `recipient`, `HandlerError`
   * (its `cause` is what the handler threw) when the handler fails, `TimeoutError` exactly
   * `timeout` ms after the call (a later reply is dropped), the signal's reason when
   * `signal` aborts, and `ClosedError` when the channel closes first.
   *
   * @param opts.timeout ms on the channel's clock; `Infinity` waits without limit. @default 30000
   * @example
   * ```ts
   * const answer = await rr.request("me", "echo", { hello: "world" }, { timeout: 1000 });
   * ```
   */
  request<R = unknown>(sender: string, recipient: string, payload: unknown, opts?: WaitOptions): Promise<R> {
    // Not `async`: an async wrapper would add a second promise per request. Every failure
    // below is still a rejected promise, never a synchronous throw.
    const rt = this.#runtime;
    let timeout: number | undefined = DEFAULT_TIMEOUT;
    let signal: AbortSignal | undefined;
    try {
      if (this.#closed) throw new ClosedError("request-reply channel");
      checkName(sender, "sender");
      checkName(recipient, "recipient");
      if (opts !== undefined) {
        if (opts.timeout !== undefined) timeout = checkTimeout(opts.timeout, `request to ${JSON.stringify(recipient)}`);
        signal = opts.signal;
        signal?.throwIfAborted();
      }
      if (rt.checkPayloads) assertJson(payload, `request payload to ${JSON.stringify(recipient)}`);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an aborted signal's reason is passed on unchanged, whatever it is
      return Promise.reject(error);
    }
    const message: Message = {
      id: rt.ids.next("msg"),
      sender,
      pattern: "request_reply",
      recipient,
      payload,
      timestamp: rt.clock.now(),
    };
    const p = new PendingRequest(this.#pending, message, timeout ?? Infinity);
    const promise = promiseOf<R>(p);
    this.#pending.add(p);
    const tracer = rt.tracer;
    if (tracer !== undefined) tracer.record("request", sender, recipient, undefined, message.id, tracer.payloads ? payload : undefined);
    this.#transport.send(message, p);
    // A synchronous handler has already answered: no deadline or listener to set up.
    if (!p.done) {
      if (timeout !== undefined) this.#armLater(p);
      if (signal !== undefined) {
        if (signal.aborted) p.abort(signal.reason);
        else p.off = onAbort(signal, (reason) => p.abort(reason));
      }
    }
    return promise;
  }

  // Most replies come back within the microtasks that follow the request. Arming a deadline
  // for them would cost more than the rest of the round trip (an entry in the deadline queue,
  // keeping the process alive, then cancelling both). So deadlines are armed two microtask
  // hops after the request, one batch for all requests made meanwhile, for those still
  // pending then. Clock time cannot move
  // between a call and its microtask (a virtual clock settles microtasks before advancing;
  // the wall clock moves by microseconds), and each deadline counts from its call's timestamp,
  // so a timeout still fires `timeout` ms after the call.
  #armLater(p: PendingRequest): void {
    if (this.#unarmedTail === undefined) {
      this.#unarmedHead = this.#unarmedTail = p;
      // Not queueMicrotask: Node wraps each of its callbacks in an AsyncResource.
      void resolved.then(this.#armSoon);
    } else {
      this.#unarmedTail.nextUnarmed = p;
      this.#unarmedTail = p;
    }
  }

  // A second hop: the reply of an async handler that does not wait on anything (`async (x) =>
  // x`, a cache hit) reaches the caller one microtask after the handler's promise, after the
  // first hop. Each deadline counts from its call's timestamp, so arming it later never
  // moves it.
  readonly #armSoon = (): void => {
    void resolved.then(this.#armDeadlines);
  };

  readonly #armDeadlines = (): void => {
    let p = this.#unarmedHead;
    this.#unarmedHead = this.#unarmedTail = undefined;
    const timers = this.#runtime.timers;
    while (p !== undefined) {
      const q = p;
      p = q.nextUnarmed;
      q.nextUnarmed = undefined;
      if (!q.done) q.deadline = timers.add(q.timeout, () => q.expire(), undefined, q.message.timestamp);
    }
  };

  /**
   * Closes the channel: every pending request rejects with `ClosedError`, its deadline is
   * cancelled, every handler is dropped, and later requests and registrations get
   * `ClosedError`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const list = this.#pending;
    while (list.head !== undefined) list.head.close();
    this.#transport.close();
  }
}
