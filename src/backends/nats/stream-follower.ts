import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * Follows one JetStream stream with an ordered consumer, and follows it again after every
 * reconnect (a restarted server may have lost the consumer) from where its owner says it
 * stands. Messages of an earlier consumer still on their way carry an old generation and are
 * dropped, so a resume has neither gaps nor duplicates. Used by the state store (its bucket's
 * stream) and the event transport (the events stream).
 * @internal
 */
export class StreamFollower {
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #onMessage: (m: JsMsg) => void;
  #messages: ConsumerMessages | undefined;
  #generation = 0;
  #closed = false;

  constructor(js: JetStreamClient, stream: string, onMessage: (m: JsMsg) => void) {
    this.#js = js;
    this.#stream = stream;
    this.#onMessage = onMessage;
  }

  /** Follows from stream sequence `from` (1: from the first retained message). */
  async follow(from: number): Promise<void> {
    const generation = ++this.#generation;
    const consumer = await this.#js.consumers.get(
      this.#stream,
      from <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from },
    );
    const messages = await consumer.consume({
      callback: (m) => {
        if (generation === this.#generation) this.#onMessage(m);
      },
    });
    if (this.#closed || generation !== this.#generation) {
      await messages.close();
      return;
    }
    this.#messages = messages;
  }

  /**
   * After each reconnect of `nc`, follows again from `resumeFrom()` (which may also re-create
   * what the server lost) while `active()` holds, retrying with a growing pause while the
   * server does not answer JetStream requests yet. Ends when the follower is closed.
   */
  async resumeOnReconnect(nc: NatsConnection, resumeFrom: () => Promise<number>, active: () => boolean = () => true): Promise<void> {
    for await (const s of nc.status()) {
      if (this.#closed) return;
      if (s.type !== "reconnect" || !active()) continue;
      const old = this.#messages;
      this.#messages = undefined;
      void old?.close().catch(() => undefined);
      for (let attempt = 0; !this.#closed; attempt++) {
        try {
          await this.follow(await resumeFrom());
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt)));
        }
      }
    }
  }

  /** Stops following; resolves once the consumer stopped. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const messages = this.#messages;
    this.#messages = undefined;
    await messages?.close().catch(() => undefined);
  }
}
