import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Message, MessageHandler, PublishResult } from "../../channels/message.js";
import { InProcessPublishTransport } from "../../channels/publish-transport.js";
import type { ErrorReporter, PublishTransport } from "../../channels/transport.js";
import type { Runtime } from "../../runtime/runtime.js";
import { decodeJson, encodeJson, Header, type Subjects } from "./wire.js";

/**
 * Publish-subscribe over NATS. A topic is a subject under `covey.<mesh>.pub.` with each token
 * escaped, so covey's `*` and `>` keep their NATS meaning. A publication goes to NATS for the
 * other processes and straight to this process's own subscribers (which `publish` counts, and
 * whose handlers it waits for); subscribers in other processes get it once each, uncounted.
 *
 * While this process has any subscription it listens to the mesh's whole `pub.>` space and
 * matches topics itself, so a publication reaches each of its matching subscriptions exactly
 * once, however many of them overlap.
 * @internal
 */
export class NatsPublishTransport implements PublishTransport {
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #processId: string;
  readonly #runtime: Runtime;
  readonly #local: InProcessPublishTransport;
  readonly #report: ErrorReporter;
  #sub: Subscription | undefined;

  constructor(nc: NatsConnection, subjects: Subjects, processId: string, runtime: Runtime, report: ErrorReporter) {
    this.#nc = nc;
    this.#subjects = subjects;
    this.#processId = processId;
    this.#runtime = runtime;
    this.#report = report;
    this.#local = new InProcessPublishTransport(runtime);
  }

  subscribe(topic: string, handler: MessageHandler): () => void {
    const off = this.#local.subscribe(topic, handler);
    this.#sub ??= this.#nc.subscribe(`${this.#subjects.root}.pub.>`, { callback: (err, m) => {
        if (err === null) this.#onMessage(m);
      } });
    return () => {
      off();
      this.#release();
    };
  }

  unsubscribe(topic: string, handler: Function): void {
    this.#local.unsubscribe(topic, handler);
    this.#release();
  }

  publish(message: Message, report: ErrorReporter): PublishResult | Promise<PublishResult> {
    const h = natsHeaders();
    h.set(Header.origin, this.#processId);
    h.set(Header.id, message.id);
    h.set(Header.sender, message.sender);
    h.set(Header.topic, message.topic!);
    // Encoding errors (not JSON data) reach the publisher; a closed connection only loses the
    // copy for other processes, as any publication sent while disconnected.
    const body = encodeJson(message.payload);
    if (!this.#nc.isClosed()) {
      try {
        this.#nc.publish(this.#subjects.topic(message.topic!, false), body, { headers: h });
      } catch {
        // Closed between the check and the publish.
      }
    }
    return this.#local.publish(message, report);
  }

  get size(): number {
    return this.#local.size;
  }

  close(): void {
    this.#local.close();
    this.#sub?.unsubscribe();
    this.#sub = undefined;
  }

  #release(): void {
    if (this.#local.size === 0 && this.#sub !== undefined) {
      this.#sub.unsubscribe();
      this.#sub = undefined;
    }
  }

  #onMessage(m: Msg): void {
    const h = m.headers;
    if (h?.get(Header.origin) === this.#processId) return;
    let payload: unknown;
    try {
      payload = decodeJson(m.data);
    } catch {
      return;
    }
    const topic = h?.get(Header.topic) || m.subject.slice(this.#subjects.root.length + 5);
    const message: Message = {
      id: h?.get(Header.id) || this.#runtime.ids.next("msg"),
      sender: h?.get(Header.sender) || "nats",
      pattern: "publish_subscribe",
      topic,
      payload,
      timestamp: this.#runtime.clock.now(),
    };
    const result = this.#local.publish(message, this.#report);
    if (result instanceof Promise) result.catch(() => undefined);
  }
}
