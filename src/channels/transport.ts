import type { Message, MessageHandler, PublishResult, RequestHandler } from "./message.js";

/**
 * What the handler side knows of one request's caller: its deadline, and whether it gave up.
 * A handler (a mailbox, a per-request context) sets `onEnd` to learn when the request ends, so
 * work queued for a caller that gave up never starts and running work sees the abort.
 */
export interface RequestScope {
  /** Clock time (ms) after which the caller no longer waits; `Infinity` when it has no deadline. */
  readonly deadlineAt: number;
  /** True once the request ended: answered, failed, or given up by its caller. */
  readonly done: boolean;
  /** True once the caller gave up: its timeout passed, its signal aborted, or the channel closed. */
  readonly cancelled: boolean;
  /** Why the caller gave up (its `TimeoutError`, its signal's reason, a `ClosedError`); set with `cancelled`. */
  readonly cancelReason: unknown;
  /**
   * Called once when the request ends, with `cancelled` true when the caller gave up (and why).
   * One slot: whoever holds the request now (the mailbox while it is queued, then the handler's
   * context) sets it.
   */
  onEnd: ((cancelled: boolean, reason: unknown) => void) | undefined;
}

/**
 * Where a transport reports the outcome of one request. Exactly one method is called, once;
 * a call after the request ended (timed out, aborted, closed) is ignored, never thrown.
 * @internal
 */
export interface ReplySink extends RequestScope {
  /** The handler answered with `value`. */
  reply(value: unknown): void;
  /** The handler threw or rejected with `cause`. */
  fail(cause: unknown): void;
  /** Nobody handles the request's recipient. A remote transport may learn this late. */
  noResponder(): void;
}

/**
 * Carries requests from callers to responders and replies back. The in-process
 * implementation calls handlers directly; a network backend (NATS: one subject per
 * recipient, a queue group per recipient) implements the same four methods, so the
 * channels and everything built on them stay unchanged.
 * @internal
 */
export interface RequestTransport {
  /** Adds `handler` to the queue group of `recipient`; returns an idempotent remover. */
  addResponder(recipient: string, handler: RequestHandler): () => void;
  /** Whether at least one responder for `recipient` is known. */
  hasResponder(recipient: string): boolean;
  /** Hands `request` to exactly one responder of `request.recipient`; the outcome goes to `sink`. */
  send(request: Message, sink: ReplySink): void;
  /** Drops every responder. */
  close(): void;
}

/** Reports a subscriber that threw or rejected. @internal */
export type ErrorReporter = (error: unknown, message: Message) => void;

/**
 * Carries publications to subscribers. Topics reaching `publish` have been validated
 * (no wildcards, no empty token); subscription topics may hold `*` and a final `>`,
 * with NATS meaning, so a NATS backend maps them one to one.
 * @internal
 */
export interface PublishTransport {
  /** Adds a subscription; returns an idempotent remover for exactly this subscription. */
  subscribe(topic: string, handler: MessageHandler): () => void;
  /** Removes every subscription of `handler` to exactly `topic`. */
  unsubscribe(topic: string, handler: Function): void;
  /**
   * Hands `message` to every subscriber whose topic matches `message.topic`. Returns the
   * counts once every handler finished: synchronously when all of them did at once.
   */
  publish(message: Message, report: ErrorReporter): PublishResult | Promise<PublishResult>;
  /** Number of live subscriptions. */
  readonly size: number;
  /** Drops every subscription. */
  close(): void;
}
