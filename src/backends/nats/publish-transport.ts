import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Message, MessageHandler, PublishResult } from "../../channels/message.js";
import { InProcessPublishTransport } from "../../channels/publish-transport.js";
import type { ErrorReporter, PublishTransport } from "../../channels/transport.js";
import { ClosedError, CoveyError, MessagesDroppedError, ValidationError } from "../../errors.js";
import type { Runtime } from "../../runtime/runtime.js";
import { fromNats } from "./nats-errors.js";
import { encodePayload } from "./payload.js";
import { SequenceTracker } from "./sequence-tracker.js";
import { decodeJson, Header, type Subjects } from "./wire.js";

/** The publishing process's count of its publications on the mesh (1, 2, 3, ...). */
export const SEQ_HEADER = "Covey-Seq";

/** Options of a {@link NatsPublishTransport}. @internal */
export interface NatsPublishOptions {
  /**
   * Publications from other processes whose subscribers (async handlers) may still be running
   * here at once. Past it, a publication from elsewhere is dropped, counted and reported instead
   * of piling up: no publisher waits for this process, so nothing else bounds it.
   * @default 10000
   */
  maxPending?: number;
}

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
 *
 * Publications from other processes are handed to this process's subscribers at once, with no
 * publisher awaiting them; while `maxPending` of them still have handlers running, further
 * ones are dropped (their subscribers here never see them) and reported the same way: the first
 * at once, the rest of that overload when it ends.
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
  readonly #maxPending: number;
  #seq = 0;
  #sub: Subscription | undefined;
  /** Deliveries of other processes' publications whose handlers still run. */
  #pending = 0;
  /** Publications dropped in the current overload (the first one was reported at once). */
  #shed = 0;
  #shedTotal = 0;
  #lastShed: Message | undefined;

  constructor(nc: NatsConnection, subjects: Subjects, processId: string, runtime: Runtime, report: ErrorReporter, opts: NatsPublishOptions = {}) {
    this.#nc = nc;
    this.#subjects = subjects;
    this.#processId = processId;
    this.#runtime = runtime;
    this.#report = report;
    this.#local = new InProcessPublishTransport(runtime);
    this.#maxPending = opts.maxPending ?? 10_000;
  }

  /** Publications of other processes lost on the way here, or dropped here, since this transport was made. */
  get dropped(): number {
    return this.#tracker.dropped + this.#shedTotal;
  }

  subscribe(topic: string, handler: MessageHandler): () => void {
    const off = this.#local.subscribe(topic, handler);
    if (this.#sub === undefined) {
      try {
        const subject = `${this.#subjects.root}.pub.>`;
        const sub = this.#nc.subscribe(subject, { callback: (err, m) => {
            if (err === null) this.#onMessage(m);
            else this.#refused(sub, subject, err);
          } });
        this.#sub = sub;
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

  /**
   * The server ended the subscription (a permissions violation): publications from other
   * processes no longer arrive. Reported, never silent; the next subscribe tries again.
   */
  #refused(sub: Subscription, subject: string, err: Error): void {
    if (this.#sub === sub) this.#sub = undefined;
    const message: Message = { id: this.#runtime.ids.next("msg"), sender: "nats", pattern: "publish_subscribe", topic: subject, payload: undefined, timestamp: this.#runtime.clock.now() };
    const mapped = fromNats(err, { operation: `subscribe to ${subject}` });
    this.#report(mapped, message);
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
    if (this.#pending >= this.#maxPending) {
      this.#drop(message);
      return;
    }
    const result = this.#local.publish(message, this.#report);
    if (result instanceof Promise) {
      this.#pending++;
      result.then(this.#settled, this.#settled);
    }
  }

  readonly #settled = (): void => {
    this.#pending--;
    if (this.#shed > 0 && this.#pending < this.#maxPending) {
      // The overload is over: report what it dropped after the first.
      const more = this.#shed - 1;
      const last = this.#lastShed!;
      this.#shed = 0;
      this.#lastShed = undefined;
      if (more > 0) this.#report(this.#overload(more, "more were dropped before they caught up"), last);
    }
  };

  #drop(message: Message): void {
    this.#shedTotal++;
    this.#lastShed = message;
    if (this.#shed++ === 0) this.#report(this.#overload(1, "further drops are reported when they catch up"), message);
  }

  #overload(count: number, detail: string): MessagesDroppedError {
    return new MessagesDroppedError(
      count,
      `${this.#subjects.root}.pub`,
      `this process's subscribers were still handling ${this.#maxPending} publications from other processes, so these never reached them; ${detail}`,
    );
  }

  #topicOf(m: Msg): string {
    return m.headers?.get(Header.topic) || m.subject.slice(this.#subjects.root.length + 5);
  }
}
