import type { Runtime } from "../runtime/runtime.js";
import { immediateScheduler, type Scheduler } from "../runtime/scheduler.js";
import type { Message, MessageHandler, PublishResult } from "./message.js";
import { parseSubscriptionTopic } from "./topic.js";
import { Subscription, TopicTrie } from "./topic-trie.js";
import type { ErrorReporter, PublishTransport } from "./transport.js";

const NONE: PublishResult = Object.freeze({ delivered: 0, failed: 0 });

/** Results without failures, shared: a publish allocates none for them. */
const RESULTS: readonly PublishResult[] = Array.from({ length: 64 }, (_, delivered) => Object.freeze({ delivered, failed: 0 }));

function resultOf(delivered: number, failed: number): PublishResult {
  return failed === 0 && delivered < RESULTS.length ? RESULTS[delivered]! : { delivered, failed };
}

type Then = (this: unknown, onFulfilled: (value: unknown) => void, onRejected: (reason: unknown) => void) => unknown;

/**
 * The `then` method of what a handler returned when it is a thenable, read exactly once (a
 * getter may answer differently on a second read); undefined for anything else. Throws what
 * reading it throws (a hostile getter or Proxy trap): the caller counts that as a failure.
 * @internal
 */
export function thenOf(value: unknown): Then | undefined {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return undefined;
  const then: unknown = (value as { then?: unknown }).then;
  return typeof then === "function" ? (then as Then) : undefined;
}

/**
 * Reports a failed subscriber without ever throwing: a reporter that throws (or chokes on a
 * hostile error value) must not stop the publication reaching the other subscribers.
 * @internal
 */
export function reportSafely(report: ErrorReporter, error: unknown, message: Message): void {
  try {
    report(error, message);
  } catch {
    try {
      process.emitWarning(`covey: reporting a failed subscriber to ${JSON.stringify(message.topic)} threw`, { code: "COVEY_SUBSCRIBER_FAILED" });
    } catch {
      // Nothing is left to report with; the publication carries on.
    }
  }
}

/** One publication on its way to its subscribers: counts what finished. */
class Fanout {
  delivered = 0;
  failed = 0;
  /** Deliveries or handler promises not finished yet. */
  outstanding: number;
  resolve: ((result: PublishResult) => void) | undefined = undefined;
  readonly message: Message;
  readonly report: ErrorReporter;

  constructor(message: Message, outstanding: number, report: ErrorReporter) {
    this.message = message;
    this.outstanding = outstanding;
    this.report = report;
  }

  /** Runs one delivery made through a scheduler. */
  run(sub: Subscription): void {
    // Unsubscribed while the delivery was on its way: it is not delivered, nor counted.
    if (!sub.active) {
      this.#finish();
      return;
    }
    let result: unknown;
    let then: Then | undefined;
    try {
      result = sub.handler(this.message);
      then = thenOf(result);
    } catch (error) {
      this.#failed(error);
      return;
    }
    // The delivery is done; a returned promise stays outstanding until it settles.
    if (then !== undefined) this.await(result, then);
    else this.delivered++;
    this.#finish();
  }

  /**
   * Counts a handler's thenable as outstanding until it settles, once: a thenable that calls
   * back twice, or throws from `then`, is counted once.
   */
  await(thenable: unknown, then: Then): void {
    this.outstanding++;
    let settled = false;
    const fulfilled = (): void => {
      if (settled) return;
      settled = true;
      this.delivered++;
      this.#finish();
    };
    const rejected = (error: unknown): void => {
      if (settled) return;
      settled = true;
      this.#failed(error);
    };
    try {
      then.call(thenable, fulfilled, rejected);
    } catch (error) {
      rejected(error);
    }
  }

  /** The counts once nothing is outstanding. */
  settled(): PublishResult | Promise<PublishResult> {
    if (this.outstanding === 0) return resultOf(this.delivered, this.failed);
    return new Promise<PublishResult>((resolve) => (this.resolve = resolve));
  }

  #failed(error: unknown): void {
    this.failed++;
    reportSafely(this.report, error, this.message);
    this.#finish();
  }

  #finish(): void {
    if (--this.outstanding === 0 && this.resolve !== undefined) this.resolve(resultOf(this.delivered, this.failed));
  }
}

// A small closure over exactly two values, rather than one capturing the loop's scope.
function deliveryOf(fanout: Fanout, sub: Subscription): () => void {
  return () => fanout.run(sub);
}

/**
 * Publications inside one process: subscriptions live in a token trie with a cache of
 * topic → matches, and each subscriber is called directly (through the runtime's scheduler).
 * Synchronous handlers are not awaited, which keeps a publish close to a plain event
 * emitter.
 * @internal
 */
export class InProcessPublishTransport implements PublishTransport {
  readonly #scheduler: Scheduler;
  readonly #trie = new TopicTrie();
  #seq = 0;

  constructor(runtime: Runtime) {
    this.#scheduler = runtime.scheduler;
  }

  get size(): number {
    return this.#trie.size;
  }

  subscribe(topic: string, handler: MessageHandler): () => void {
    const tokens = parseSubscriptionTopic(topic);
    const sub = new Subscription(topic, handler, this.#seq++);
    this.#trie.add(tokens, sub);
    return () => {
      if (!sub.active) return;
      sub.active = false;
      this.#trie.remove(tokens, sub);
    };
  }

  unsubscribe(topic: string, handler: Function): void {
    const tokens = parseSubscriptionTopic(topic);
    for (const sub of this.#trie.at(tokens)) {
      if (sub.handler !== handler) continue;
      sub.active = false;
      this.#trie.remove(tokens, sub);
    }
  }

  publish(message: Message, report: ErrorReporter): PublishResult | Promise<PublishResult> {
    const subs = this.#trie.match(message.topic!);
    const n = subs.length;
    if (n === 0) return NONE;
    const scheduler = this.#scheduler;
    if (scheduler !== immediateScheduler) {
      const fanout = new Fanout(message, n, report);
      // One lane per (publisher, subscription): a subscriber sees each publisher's messages in order.
      for (let i = 0; i < n; i++) {
        const sub = subs[i]!;
        scheduler.deliver("publish", deliveryOf(fanout, sub), undefined, `${sub.seq}\u0000${message.sender}`);
      }
      return fanout.settled();
    }
    // The production scheduler runs each delivery at once, in order: calling the handlers in
    // that order is the same delivery, without a closure per subscriber (measured: those
    // closures cost as much as the rest of a publish). Bookkeeping for promises is paid
    // only when a handler returns one.
    let delivered = 0;
    let failed = 0;
    let fanout: Fanout | undefined;
    for (let i = 0; i < n; i++) {
      const sub = subs[i]!;
      // Unsubscribed by an earlier handler of this very publish.
      if (!sub.active) continue;
      let result: unknown;
      let then: Then | undefined;
      try {
        result = sub.handler(message);
        then = thenOf(result);
      } catch (error) {
        failed++;
        reportSafely(report, error, message);
        continue;
      }
      if (then !== undefined) (fanout ??= new Fanout(message, 0, report)).await(result, then);
      else delivered++;
    }
    if (fanout === undefined) return resultOf(delivered, failed);
    fanout.delivered += delivered;
    fanout.failed += failed;
    return fanout.settled();
  }

  close(): void {
    for (const sub of this.#trie.all()) sub.active = false;
    this.#trie.clear();
  }
}
