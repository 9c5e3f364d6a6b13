import type { RequestScope } from "./transport.js";

/**
 * How a message travels: `"request_reply"` (a request that waits for one reply),
 * `"publish_subscribe"` (a publication to every matching subscriber), `"fire_and_forget"`
 * and `"streaming"`.
 */
export type MessagePattern = "request_reply" | "publish_subscribe" | "fire_and_forget" | "streaming";

/**
 * What a request handler or subscriber receives. In-process the payload is passed by
 * reference, unchecked and uncopied: a receiver must not mutate it.
 *
 * @example
 * ```ts
 * hub.pubSub.subscribe("task.*", (m: Message) => console.log(m.sender, m.topic, m.payload));
 * ```
 */
export interface Message<P = unknown> {
  /** Unique within its system (`msg-1`, `msg-2`, ...). */
  id: string;
  sender: string;
  pattern: MessagePattern;
  /** The addressee of a request. */
  recipient?: string;
  /** The topic a publication was published on. */
  topic?: string;
  payload: P;
  /** The id of the message this one answers or continues, when there is one. */
  correlationId?: string;
  /** Clock time when the message was sent, in ms. */
  timestamp: number;
}

/**
 * Answers requests addressed to a recipient: its return value (or the value its promise
 * resolves to) is the reply; a throw or rejection reaches the caller as a `HandlerError`.
 * `scope`, when the transport knows it, tells the handler the caller's deadline and when the
 * caller gives up (see {@link RequestScope}).
 */
export type RequestHandler = (message: Message, scope?: RequestScope) => unknown;

/** Receives publications; a returned promise is awaited before `publish` resolves. */
export type MessageHandler = (message: Message) => void | Promise<void>;

/** What {@link PubSubChannel.publish} resolves to: handlers that completed and that failed. */
export interface PublishResult {
  /** Handlers that returned (or whose promise resolved). */
  readonly delivered: number;
  /** Handlers that threw or rejected. */
  readonly failed: number;
}

/** Whether `value` is a promise or other thenable. @internal */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * The `then` method of `value` when it is a thenable, else undefined. Reading `then` may run a
 * hostile getter or Proxy trap: it throws here, where the caller can turn it into a failure.
 * @internal
 */
export function thenOf(value: unknown): ((onFulfilled: (v: unknown) => unknown, onRejected: (e: unknown) => unknown) => unknown) | undefined {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return undefined;
  const then = (value as { then?: unknown }).then;
  return typeof then === "function" ? (then as never) : undefined;
}
