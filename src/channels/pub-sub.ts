import { ClosedError, ValidationError } from "../errors.js";
import { assertJson } from "../runtime/json.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import { onAbort } from "../runtime/abort.js";
import { checkName, type WaitOptions } from "../runtime/wait.js";
import { firstItem, type FirstItemWait } from "./first-item.js";
import { PushIterator, type IterateOptions, type SubscriptionIterator } from "./push-iterator.js";
import type { Message, MessageHandler, PublishResult } from "./message.js";
import { InProcessPublishTransport } from "./publish-transport.js";
import { checkPublishTopic, parseSubscriptionTopic } from "./topic.js";
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
  // Pending `once` waits and open iterations, ended by close().
  readonly #waits = new Set<FirstItemWait>();
  readonly #iterators = new Set<{ end(): void }>();
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
   * hold `*` (one token) and a final `>` (one or more tokens). `T` types the payload for the
   * handler (unchecked: in-process payloads pass by reference; validate where it matters).
   *
   * @param opts.signal - unsubscribes when it aborts (an already-aborted one subscribes nothing).
   * @returns an idempotent function that removes exactly this subscription.
   * @throws ValidationError for an invalid topic; ClosedError after {@link close}.
   * @example
   * ```ts
   * const off = ps.subscribe<{ cpu: number }>("metrics.>", (m) => record(m.payload.cpu));
   * off();
   * ```
   */
  subscribe<T = unknown>(topic: string, handler: (message: Message<T>) => void | Promise<void>, opts?: SubscribeOptions): () => void {
    if (this.#closed) throw new ClosedError("pub-sub channel");
    if (typeof handler !== "function") {
      throw new ValidationError("handler must be a function", [{ path: ["handler"], message: "must be a function" }]);
    }
    const signal = opts?.signal;
    if (signal?.aborted === true) {
      // Still reject a bad topic, as a live signal would.
      parseSubscriptionTopic(topic);
      return noop;
    }
    const off = this.#transport.subscribe(topic, handler as MessageHandler);
    if (signal === undefined) return off;
    // Unsubscribing by hand also drops the abort listener: nothing is left on the signal.
    const offAbort = onAbort(signal, off);
    return () => {
      offAbort();
      off();
    };
  }

  /**
   * The next message published on a topic matching `pattern` from now on.
   *
   * Unlike {@link subscribe}, it takes one message and is gone: the subscription, its deadline
   * and its abort listener are removed whichever way the wait ends.
   * @throws TimeoutError after `timeout` ms; the signal's reason when it aborts (at once if it
   *   already has); ClosedError when the channel is or gets closed; ValidationError for an
   *   invalid pattern
   * @example
   * ```ts
   * const m = await ps.once<{ id: number }>("orders.*.created", { timeout: 1_000 });
   * ```
   */
  async once<T = unknown>(pattern: string, opts?: WaitOptions): Promise<Message<T>> {
    opts?.signal?.throwIfAborted();
    if (this.#closed) throw new ClosedError("pub-sub channel");
    return firstItem<Message<T>>(
      (deliver) => this.#transport.subscribe(pattern, deliver as MessageHandler),
      opts,
      this.#runtime.timers,
      `once(${JSON.stringify(pattern)}) on pub-sub`,
      (wait) => {
        this.#waits.add(wait);
        return () => this.#waits.delete(wait);
      },
    );
  }

  /**
   * The messages published on topics matching `pattern` from now on, as an async iterator
   * for `for await`.
   *
   * Messages are buffered while the loop body runs, up to `bufferSize` (default 1024); past
   * that the oldest buffered message is dropped and counted in the iterator's `dropped` (a
   * publish never waits for a slow loop). Breaking out of the loop, an aborted `signal` (the
   * pending `next()` rejects with its reason) and `close()` (the loop ends) all remove the
   * subscription and leave nothing behind.
   * @throws ValidationError for an invalid pattern; ClosedError after `close()`
   * @example
   * ```ts
   * for await (const m of ps.iterate<Order>("orders.>", { signal })) handle(m.payload);
   * ```
   */
  iterate<T = unknown>(pattern: string, opts?: IterateOptions): SubscriptionIterator<Message<T>> {
    if (this.#closed) throw new ClosedError("pub-sub channel");
    const it = new PushIterator<Message<T>>(
      (push) => this.#transport.subscribe(pattern, push as MessageHandler),
      opts,
      (ended) => this.#iterators.delete(ended),
    );
    if (!it.ended) this.#iterators.add(it);
    else parseSubscriptionTopic(pattern);
    return it;
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
  publish<T = unknown>(sender: string, topic: string, payload: T): Promise<PublishResult> {
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
    for (const wait of [...this.#waits]) wait.cancel(new ClosedError("pub-sub channel"));
    for (const it of [...this.#iterators]) it.end();
  }
}

/** Options of {@link PubSubChannel.subscribe}. */
export interface SubscribeOptions {
  /** Unsubscribes when it aborts; an already-aborted signal subscribes nothing. */
  signal?: AbortSignal;
}

function noop(): void {}

function reportToConsole(error: unknown, message: Message): void {
  console.error(`covey: a subscriber to ${JSON.stringify(message.topic)} failed on message ${message.id}:`, error);
}
