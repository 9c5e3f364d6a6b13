import { ClosedError, ValidationError } from "../errors.js";
import { assertJson } from "../runtime/json.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import { checkName } from "../runtime/wait.js";
import type { Message, MessageHandler, PublishResult } from "./message.js";
import { InProcessPublishTransport } from "./publish-transport.js";
import { checkPublishTopic } from "./topic.js";
import type { PublishTransport } from "./transport.js";

/** Options of a {@link PubSubChannel}. */
export interface PubSubOptions extends RuntimeOptions {
  /**
   * Called with what a subscriber threw (or rejected with) and the message it was handling.
   * Without it, failures are written to `console.error`; they are never swallowed.
   */
  onError?: (error: unknown, message: Message) => void;
  /** @internal where publications travel; in-process unless a backend is given. */
  transport?: PublishTransport;
}

/**
 * Publish-subscribe on dot-separated topics (`orders.eu.created`), with NATS wildcards in
 * subscriptions: `*` matches exactly one token, `>` one or more trailing tokens.
 *
 * `publish` resolves once every matching handler has finished; a handler that throws or
 * rejects never stops the others, is counted as `failed` and is reported to `onError`.
 * Subscribing the same handler twice makes two subscriptions (it runs twice per matching
 * publication), as two NATS subscriptions would.
 *
 * @example
 * ```ts
 * const ps = new PubSubChannel();
 * ps.subscribe("orders.*.created", (m) => console.log(m.topic, m.payload));
 * const { delivered } = await ps.publish("shop", "orders.eu.created", { id: 7 }); // 1
 * ```
 */
export class PubSubChannel {
  readonly #runtime: Runtime;
  readonly #transport: PublishTransport;
  readonly #report: (error: unknown, message: Message) => void;
  #closed = false;

  constructor(opts?: PubSubOptions) {
    this.#runtime = resolveRuntime(opts);
    this.#transport = opts?.transport ?? new InProcessPublishTransport(this.#runtime);
    const onError = opts?.onError;
    this.#report =
      onError === undefined
        ? reportToConsole
        : (error, message) => {
            try {
              onError(error, message);
            } catch (secondary) {
              // A failing error reporter must not break the publish either.
              reportToConsole(secondary, message);
            }
          };
  }

  /** Number of live subscriptions. */
  get subscriptions(): number {
    return this.#transport.size;
  }

  /**
   * Calls `handler` with every message published on a topic matching `topic`, which may
   * hold `*` (one token) and a final `>` (one or more tokens).
   *
   * @returns an idempotent function that removes exactly this subscription.
   * @throws ValidationError for an invalid topic; ClosedError after {@link close}.
   * @example
   * ```ts
   * const off = ps.subscribe("metrics.>", (m) => record(m.payload));
   * off();
   * ```
   */
  subscribe(topic: string, handler: MessageHandler): () => void {
    if (this.#closed) throw new ClosedError("pub-sub channel");
    if (typeof handler !== "function") {
      throw new ValidationError("handler must be a function", [{ path: ["handler"], message: "must be a function" }]);
    }
    return this.#transport.subscribe(topic, handler);
  }

  /**
   * Removes every subscription of `handler` made with exactly this `topic` string (as
   * opposed to the function `subscribe` returns, which removes one subscription).
   * Unknown pairs are ignored.
   */
  unsubscribe(topic: string, handler: Function): void {
    if (this.#closed) return;
    this.#transport.unsubscribe(topic, handler);
  }

  /**
   * Publishes `payload` on `topic` (no wildcards) and resolves once every matching handler
   * has finished. Synchronous handlers run before `publish` returns its promise; only
   * handlers that return a promise are awaited.
   *
   * @returns `delivered`: handlers that completed; `failed`: handlers that threw or rejected.
   * @example
   * ```ts
   * const { delivered, failed } = await ps.publish("me", "task.done", { id: 1 });
   * ```
   */
  publish(sender: string, topic: string, payload: unknown): Promise<PublishResult> {
    // Not `async`: when a handler returns a promise, an async wrapper would add a promise and
    // three microtask turns. Every failure is still a rejected promise, never a throw.
    let message: Message;
    try {
      if (this.#closed) throw new ClosedError("pub-sub channel");
      checkName(sender, "sender");
      checkPublishTopic(topic);
      const rt = this.#runtime;
      if (rt.checkPayloads) assertJson(payload, `payload published on ${JSON.stringify(topic)}`);
      message = { id: rt.ids.next("msg"), sender, pattern: "publish_subscribe", topic, payload, timestamp: rt.clock.now() };
      const tracer = rt.tracer;
      if (tracer !== undefined) tracer.record("publish", sender, undefined, topic, message.id, tracer.payloads ? payload : undefined);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rethrows what the checks threw
      return Promise.reject(error);
    }
    const result = this.#transport.publish(message, this.#report);
    return result instanceof Promise ? result : Promise.resolve(result);
  }

  /** Drops every subscription; later subscribes and publishes get `ClosedError`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }
}

function reportToConsole(error: unknown, message: Message): void {
  console.error(`covey: a subscriber to ${JSON.stringify(message.topic)} failed on message ${message.id}:`, error);
}
