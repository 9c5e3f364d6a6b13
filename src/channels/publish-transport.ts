import type { Runtime } from "../runtime/runtime.js";
import type { Scheduler } from "../runtime/scheduler.js";
import { isThenable, type Message, type MessageHandler, type PublishResult } from "./message.js";
import { parseSubscriptionTopic } from "./topic.js";
import { Subscription, TopicTrie } from "./topic-trie.js";
import type { ErrorReporter, PublishTransport } from "./transport.js";

const NONE: PublishResult = Object.freeze({ delivered: 0, failed: 0 });

/** One publication on its way to its subscribers: counts what finished. */
class Fanout {
  delivered = 0;
  failed = 0;
  outstanding: number;
  resolve: ((result: PublishResult) => void) | undefined = undefined;
  readonly message: Message;
  readonly report: ErrorReporter;

  constructor(message: Message, count: number, report: ErrorReporter) {
    this.message = message;
    this.outstanding = count;
    this.report = report;
  }

  run(sub: Subscription): void {
    // Unsubscribed while the delivery was on its way: it is not delivered, nor counted.
    if (!sub.active) {
      this.#finish();
      return;
    }
    let result: unknown;
    try {
      result = sub.handler(this.message);
    } catch (error) {
      this.#failed(error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => {
          this.delivered++;
          this.#finish();
        },
        (error: unknown) => this.#failed(error),
      );
    } else {
      this.delivered++;
      this.#finish();
    }
  }

  #failed(error: unknown): void {
    this.failed++;
    this.report(error, this.message);
    this.#finish();
  }

  #finish(): void {
    if (--this.outstanding === 0 && this.resolve !== undefined) this.resolve({ delivered: this.delivered, failed: this.failed });
  }
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
    const fanout = new Fanout(message, n, report);
    const scheduler = this.#scheduler;
    for (let i = 0; i < n; i++) {
      const sub = subs[i]!;
      scheduler.deliver("publish", () => fanout.run(sub));
    }
    if (fanout.outstanding === 0) return { delivered: fanout.delivered, failed: fanout.failed };
    return new Promise<PublishResult>((resolve) => (fanout.resolve = resolve));
  }

  close(): void {
    for (const sub of this.#trie.all()) sub.active = false;
    this.#trie.clear();
  }
}
