import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Message, MessageHandler, PublishResult } from "../../channels/message.js";
import { InProcessPublishTransport } from "../../channels/publish-transport.js";
import type { ErrorReporter, PublishTransport } from "../../channels/transport.js";
import { ClosedError, CoveyError, ValidationError } from "../../errors.js";
import type { Runtime } from "../../runtime/runtime.js";
import { fromNats } from "./nats-errors.js";
import { encodePayload } from "./payload.js";
import { SequenceTracker } from "./sequence-tracker.js";
import { decodeJson, Header, type Subjects } from "./wire.js";

/** The publishing process's count of its publications on the mesh (1, 2, 3, ...). */
export const SEQ_HEADER = "Covey-Seq";

/**
 * Publish-subscribe over NATS. A topic is a subject under `covey.<mesh>.pub.` with each token
 * escaped, so covey's `*` and `>` keep their NATS meaning.
 *
 * What `publish` resolves to: the publication goes to NATS for the other processes and straight
 * to this process's own subscribers. `delivered` / `failed` count **this process's** handlers
 * (awaited as in-process); subscribers in other processes get it once each, uncounted, and a
 * failure there is reported on their own system (`error_occurred`), not to the publisher.
 * Counting them would need every publication to wait for an answer from processes it cannot
 * know.
 *
 * While this process has any subscription it listens to the mesh's whole `pub.>` space and
 * matches topics itself, so a publication reaches each of its matching subscriptions exactly
 * once, however many of them overlap.
 *
 * Lost publications are reported, never silent: every publication carries its process's
 * sequence number (`Covey-Seq`), and a subscribing process that sees a gap in a publisher's
 * sequence (the server cut it off as a slow consumer, or it was disconnected while the
 * publisher went on) reports a `MessagesDroppedError` with the number of missing publications
 * to the system's error hook (`error_occurred`). A loss is noticed when that publisher's next
 * publication arrives; publications lost after a publisher's last one are not.
 * @internal
 */
export class NatsPublishTransport implements PublishTransport {
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #processId: string;
  readonly #runtime: Runtime;
  readonly #local: InProcessPublishTransport;
  readonly #report: ErrorReporter;
  readonly #tracker = new SequenceTracker();
  #seq = 0;
  #sub: Subscription | undefined;

  constructor(nc: NatsConnection, subjects: Subjects, processId: string, runtime: Runtime, report: ErrorReporter) {
    this.#nc = nc;
    this.#subjects = subjects;
    this.#processId = processId;
    this.#runtime = runtime;
    this.#report = report;
    this.#local = new InProcessPublishTransport(runtime);
  }

  /** Publications of other processes found missing since this transport was made. */
  get dropped(): number {
    return this.#tracker.dropped;
  }

  subscribe(topic: string, handler: MessageHandler): () => void {
    const off = this.#local.subscribe(topic, handler);
    if (this.#sub === undefined) {
      try {
        this.#sub = this.#nc.subscribe(`${this.#subjects.root}.pub.>`, { callback: (err, m) => {
            if (err === null) this.#onMessage(m);
          } });
      } catch (error) {
        off();
        throw fromNats(error, { operation: `subscribe to ${JSON.stringify(topic)}` });
      }
    }
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
    const topic = message.topic!;
    let body: Uint8Array;
    try {
      // Checked before anything is delivered, here or elsewhere: what cannot cross the wire is
      // refused for every subscriber alike.
      body = encodePayload(message.payload, `payload published on ${JSON.stringify(topic)}`);
    } catch (error) {
      return Promise.reject(error instanceof ValidationError ? error : new ValidationError(String(error)));
    }
    const h = natsHeaders();
    h.set(Header.origin, this.#processId);
    h.set(Header.id, message.id);
    h.set(Header.sender, message.sender);
    h.set(Header.topic, topic);
    h.set(SEQ_HEADER, String(this.#seq + 1));
    try {
      // While disconnected the client buffers the publication and sends it on reconnect.
      this.#nc.publish(this.#subjects.topic(topic, false), body, { headers: h });
    } catch (error) {
      // Closed or draining: the other processes would never get it, so nobody does.
      const mapped = fromNats(error, { operation: `publish on ${JSON.stringify(topic)}` });
      return Promise.reject(mapped instanceof CoveyError ? mapped : new ClosedError(`NATS connection (${String(error)})`));
    }
    this.#seq++;
    return this.#local.publish(message, report);
  }

  get size(): number {
    return this.#local.size;
  }

  close(): void {
    this.#local.close();
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    this.#tracker.reset();
  }

  #release(): void {
    if (this.#local.size === 0 && this.#sub !== undefined) {
      this.#sub.unsubscribe();
      this.#sub = undefined;
      // Publications made while nothing here listens are not missing: start counting afresh.
      this.#tracker.reset();
    }
  }

  #onMessage(m: Msg): void {
    const h = m.headers;
    const origin = h?.get(Header.origin) ?? "";
    if (origin === this.#processId) return;
    let payload: unknown;
    try {
      payload = decodeJson(m.data);
    } catch (error) {
      // Another client's payload that is not JSON: reported, not silently dropped.
      const raw: Message = { id: this.#runtime.ids.next("msg"), sender: h?.get(Header.sender) || "nats", pattern: "publish_subscribe", topic: this.#topicOf(m), payload: undefined, timestamp: this.#runtime.clock.now() };
      this.#report(new ValidationError(`a publication on ${JSON.stringify(raw.topic)} is not JSON and was not delivered`, [{ path: [], message: "not JSON" }], { cause: error }), raw);
      return;
    }
    const message: Message = {
      id: h?.get(Header.id) || this.#runtime.ids.next("msg"),
      sender: h?.get(Header.sender) || "nats",
      pattern: "publish_subscribe",
      topic: this.#topicOf(m),
      payload,
      timestamp: this.#runtime.clock.now(),
    };
    if (origin !== "") {
      const lost = this.#tracker.see(origin, Number(h?.get(SEQ_HEADER) ?? NaN));
      if (lost !== undefined) this.#report(lost, message);
    }
    const result = this.#local.publish(message, this.#report);
    if (result instanceof Promise) result.catch(() => undefined);
  }

  #topicOf(m: Msg): string {
    return m.headers?.get(Header.topic) || m.subject.slice(this.#subjects.root.length + 5);
  }
}
