import { ClosedError, HandlerError, NoResponderError, TimeoutError, ValidationError, type CoveyError } from "../errors.js";
import { jsonIssues } from "../runtime/json.js";
import { takePassThrough } from "../runtime/pass-through.js";
import type { Runtime } from "../runtime/runtime.js";
import { immediateScheduler } from "../runtime/scheduler.js";
import type { Deadline } from "../runtime/timer-queue.js";
import { thenOf, type Message } from "./message.js";
import type { ReplySink } from "./transport.js";

type Settle = (value: unknown) => void;
const noop: Settle = () => undefined;

/**
 * The requests of one channel that still wait for their outcome, as an intrusive
 * doubly-linked list: adding and removing are O(1) and allocate nothing.
 * @internal
 */
export class PendingList {
  readonly runtime: Runtime;
  head: PendingRequest | undefined;
  size = 0;

  constructor(runtime: Runtime) {
    this.runtime = runtime;
  }

  add(p: PendingRequest): void {
    p.next = this.head;
    if (this.head !== undefined) this.head.prev = p;
    this.head = p;
    this.size++;
  }

  remove(p: PendingRequest): void {
    if (p.prev === undefined) this.head = p.next;
    else p.prev.next = p.next;
    if (p.next !== undefined) p.next.prev = p.prev;
    p.prev = p.next = undefined;
    if (--this.size === 0 && this.drained !== undefined) {
      const waiters = this.drained;
      this.drained = undefined;
      for (const w of waiters) w();
    }
  }

  /** Called once each when the list next becomes empty. */
  drained: (() => void)[] | undefined = undefined;
}

/**
 * One request waiting for its outcome: the only record a request allocates besides its
 * message and promise. Whatever ends it first (reply, failure, timeout, abort, close) wins;
 * the decision is made synchronously, and only the caller's notification goes through the
 * scheduler, so a deferred reply can never race its own timeout.
 * @internal
 */
export class PendingRequest implements ReplySink {
  prev: PendingRequest | undefined = undefined;
  next: PendingRequest | undefined = undefined;
  /** Next request whose deadline is still to be armed. */
  nextUnarmed: PendingRequest | undefined = undefined;
  done = false;
  deadline: Deadline | undefined = undefined;
  off: (() => void) | undefined = undefined;
  cancelled = false;
  cancelReason: unknown = undefined;
  onEnd: ((cancelled: boolean, reason: unknown) => void) | undefined = undefined;
  resolve: Settle = noop;
  reject: Settle = noop;
  readonly list: PendingList;
  readonly message: Message;
  readonly timeout: number;

  constructor(list: PendingList, message: Message, timeout: number) {
    this.list = list;
    this.message = message;
    this.timeout = timeout;
  }

  get deadlineAt(): number {
    return this.message.timestamp + this.timeout;
  }

  reply(value: unknown): void {
    if (this.done) return;
    // Resolving the caller's promise reads `then`: a hostile getter or Proxy trap would reject
    // it with a raw error (or throw here). Probe it first and report it as the handler's failure.
    if (value !== null && (typeof value === "object" || typeof value === "function")) {
      try {
        thenOf(value);
      } catch (error) {
        this.fail(error);
        return;
      }
    }
    const rt = this.list.runtime;
    // undefined is what a void handler answers; production passes it through, so tests do too.
    if (rt.checkPayloads && value !== undefined) {
      let issues: ReturnType<typeof jsonIssues>;
      try {
        issues = jsonIssues(value);
      } catch (error) {
        // A Proxy whose traps throw while its shape is checked.
        this.fail(error);
        return;
      }
      if (issues.length > 0) {
        this.fail(new ValidationError(`reply from ${JSON.stringify(this.message.recipient)} is not JSON data`, issues));
        return;
      }
    }
    this.#end();
    const m = this.message;
    const tracer = rt.tracer;
    if (tracer !== undefined) tracer.record("reply", m.recipient, m.sender, undefined, m.id, tracer.payloads ? value : undefined);
    // The production scheduler runs a delivery at once: skip the closure it would need.
    if (rt.scheduler === immediateScheduler) this.resolve(value);
    else rt.scheduler.deliver("reply", () => this.resolve(value), m.sender);
  }

  fail(cause: unknown): void {
    if (this.done) return;
    // A responder that was stopped answers with its ClosedError itself, not a HandlerError;
    // once only: rethrown by the caller's own handler, it is that handler's failure.
    this.#reject(takePassThrough(cause) ? cause : new HandlerError(this.message.recipient!, cause), "error");
  }

  noResponder(): void {
    if (!this.done) this.#reject(new NoResponderError(this.message.recipient!), "error");
  }

  /** The deadline fell due. */
  expire(): void {
    this.deadline = undefined;
    if (!this.done) this.#cancel(new TimeoutError(`request to ${JSON.stringify(this.message.recipient)}`, this.timeout), "timeout");
  }

  /** The caller's signal aborted: reject with its reason, unchanged. */
  abort(reason: unknown): void {
    this.off = undefined;
    if (!this.done) this.#cancel(reason, "error", "ABORTED");
  }

  /** The channel closed. */
  close(): void {
    if (!this.done) this.#cancel(new ClosedError("request-reply channel"), "error");
  }

  /** The caller gave up: reject it, then tell the handler side (a queued job leaves its mailbox). */
  #cancel(error: unknown, kind: "error" | "timeout", code?: string): void {
    this.cancelled = true;
    this.cancelReason = error;
    this.#reject(error, kind, code);
  }

  #reject(error: unknown, kind: "error" | "timeout", code?: string): void {
    this.#end();
    const m = this.message;
    const rt = this.list.runtime;
    rt.tracer?.record(kind, m.recipient, m.sender, undefined, m.id, code ?? (error as CoveyError).code);
    if (rt.scheduler === immediateScheduler) this.reject(error);
    else rt.scheduler.deliver("reply", () => this.reject(error), m.sender);
  }

  #end(): void {
    this.done = true;
    this.list.remove(this);
    if (this.deadline !== undefined) {
      this.deadline.cancel();
      this.deadline = undefined;
    }
    if (this.off !== undefined) {
      this.off();
      this.off = undefined;
    }
    const onEnd = this.onEnd;
    if (onEnd !== undefined) {
      this.onEnd = undefined;
      onEnd(this.cancelled, this.cancelReason);
    }
  }
}

let capturing: PendingRequest | undefined;

// One shared executor instead of a closure per request.
function capture(resolve: Settle, reject: Settle): void {
  capturing!.resolve = resolve;
  capturing!.reject = reject;
}

/** The promise that `p` settles. @internal */
export function promiseOf<R>(p: PendingRequest): Promise<R> {
  capturing = p;
  const promise = new Promise<R>(capture as (resolve: (value: R) => void, reject: Settle) => void);
  capturing = undefined;
  return promise;
}
