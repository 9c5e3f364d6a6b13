import type { NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  StorageType,
  type StreamInfo,
} from "@nats-io/jetstream";
import { ClosedError, TimeoutError, ValidationError } from "../../errors.js";
import type { EventSink, EventTransport } from "../../events/event-transport.js";
import type { CoveyEvent } from "../../events/types.js";
import { eventError, isTransient } from "./event-errors.js";
import { ensureEventStream, maxMsgs } from "./event-stream.js";
import { decodeEvent, encodeEvent, eventHeaders, EventSubjects } from "./event-wire.js";
import { StreamFollower } from "./stream-follower.js";
import { Header } from "./wire.js";

/** Options of {@link openEventTransport}. */
export interface NatsEventTransportOptions {
  /** The mesh: stream `covey_<mesh>_events`, subjects `covey.<mesh>.events.>`. */
  mesh: string;
  /** This process's id (the `Covey-Origin` header of its events). */
  processId: string;
  /** Where the stream lives on the server. @default "file" */
  storage?: "file" | "memory";
  /** The stream's `max_msgs` when this process creates it. @default 1000 */
  historyLimit?: number;
  /** How long a publish keeps trying while the server does not acknowledge it. @default 30000 */
  publishTimeoutMs?: number;
}

interface Pending {
  readonly event: CoveyEvent;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** The stream sequence the server acknowledged it with, once known. */
  seq: number;
}

/** How long one publish attempt waits for the server's acknowledgement. */
const ATTEMPT_MS = 1_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The event bus of a NATS mesh: every event is published on `covey.<mesh>.events.<type>` into
 * the JetStream stream `covey_<mesh>_events` (at most `historyLimit` messages, the oldest
 * discarded), and every process follows that stream with one ordered consumer. So every
 * process sees every event once, in the stream's order, and its history is the stream's tail.
 *
 * - Opening loads the retained events (history only, no handlers), so a process that joins
 *   late sees what happened before it in `getHistory`.
 * - `publish` sends with the event id as `Nats-Msg-Id` and re-sends while the server does not
 *   answer (a restart): the stream keeps one copy. It resolves once the event came back
 *   through the consumer and this process's handlers finished.
 * - After a reconnect the consumer resumes after the last stream sequence it delivered, so
 *   nothing is delivered twice or skipped (unless the stream discarded it meanwhile).
 * @internal
 */
export class NatsEventTransport implements EventTransport {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #subjects: EventSubjects;
  readonly #processId: string;
  readonly #publishTimeout: number;
  readonly #storage: "file" | "memory";
  #maxMsgs: number;
  /** When the stream this process follows was created: another value after a restart means a new stream. */
  #created: string;
  #sink: EventSink | undefined;
  /** Events delivered before a bus attached: they become its history. */
  #early: CoveyEvent[] = [];
  readonly #pending = new Map<string, Pending>();
  /** Waits for the consumer to reach a stream sequence (the catch-up when opening). */
  #waiters: { seq: number; resolve: () => void }[] = [];
  /** A change of the stream's limit this process asked for; publishes wait for it. */
  #ready: Promise<void> | undefined;
  #position = 0;
  readonly #follower: StreamFollower;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal use {@link openEventTransport} */
  constructor(js: JetStreamClient, jsm: JetStreamManager, subjects: EventSubjects, processId: string, info: StreamInfo, publishTimeoutMs: number) {
    this.#js = js;
    this.#jsm = jsm;
    this.#subjects = subjects;
    this.#processId = processId;
    this.#follower = new StreamFollower(js, subjects.stream, (m) => this.#onMessage(m));
    this.#maxMsgs = info.config.max_msgs;
    this.#storage = info.config.storage === StorageType.Memory ? "memory" : "file";
    this.#created = info.created;
    this.#publishTimeout = publishTimeoutMs;
  }

  /** @internal follows the stream and resolves once every event it held is loaded. */
  async start(nc: NatsConnection): Promise<void> {
    // After a reconnect the server may have lost the consumer: follow again from where it was.
    // A restart of a server that kept the stream in memory lost the stream too: it is created
    // again (by whichever process comes first) and followed from its start.
    void this.#follower.resumeOnReconnect(nc, async () => {
      const info = await ensureEventStream(this.#jsm, this.#subjects, this.#storage, this.#maxMsgs);
      if (info.created !== this.#created || info.state.last_seq < this.#position) {
        this.#created = info.created;
        this.#position = 0;
      }
      return this.#position + 1;
    });
    // A connection closed under it (not by shutdown) ends every emit still waiting for its event.
    void nc.closed().then(() => this.close());
    await this.#follower.follow(this.#position + 1);
    const info = await this.#jsm.streams.info(this.#subjects.stream);
    if (info.state.messages === 0 || this.#position >= info.state.last_seq) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const waiter = { seq: info.state.last_seq, resolve };
        this.#waiters.push(waiter);
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new TimeoutError(`loading the events of stream ${this.#subjects.stream}`, this.#publishTimeout));
        }, this.#publishTimeout);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  attach(sink: EventSink): void {
    if (this.#sink !== undefined) throw new ValidationError("a NATS event transport serves one event bus", []);
    this.#sink = sink;
    const early = this.#early;
    this.#early = [];
    sink.retain(early.length > sink.historyLimit ? early.slice(early.length - sink.historyLimit) : early);
    const want = maxMsgs(sink.historyLimit);
    if (want !== this.#maxMsgs) {
      // The stream keeps what the bus keeps; the last process that joined with another limit
      // sets it. Publishes wait for the change (all of them, so they stay in call order).
      this.#ready = this.#jsm.streams.update(this.#subjects.stream, { max_msgs: want }).then(
        () => {
          this.#maxMsgs = want;
        },
        (error: unknown) => {
          if (!this.#closed) process.emitWarning(`covey: could not set max_msgs of stream ${this.#subjects.stream} to ${want}: ${String(error)}`, { code: "COVEY_NATS_EVENTS" });
        },
      );
    }
  }

  async publish(event: CoveyEvent): Promise<void> {
    if (this.#closed) throw new ClosedError("NATS event transport");
    const body = encodeEvent(event);
    if (this.#ready !== undefined) await this.#ready;
    let pending!: Pending;
    const done = new Promise<void>((resolve, reject) => {
      pending = { event, resolve, reject, seq: 0 };
    });
    // Marked handled: a close while the send is still retrying rejects it, and the send reports that.
    done.catch(() => undefined);
    this.#pending.set(event.id, pending);
    try {
      pending.seq = await this.#send(event, body);
    } catch (error) {
      // The event came back although its acknowledgement was lost: it is in the stream.
      if (!this.#pending.has(event.id)) return done;
      this.#pending.delete(event.id);
      throw error;
    }
    // The consumer went past it without delivering it (the stream discarded it first): it
    // still happened here.
    if (this.#position >= pending.seq && this.#pending.get(event.id) === pending) this.#deliver(event);
    return done;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new ClosedError("NATS event transport"));
    this.#closing = this.#follower.close();
  }

  /** Closes, and resolves once the consumer stopped. */
  async dispose(): Promise<void> {
    this.close();
    await this.#closing;
  }

  /**
   * Sends with the event id as the message id, again while the server does not answer (the
   * stream drops a copy it already has). Rejects with covey errors only.
   */
  async #send(event: CoveyEvent, body: Uint8Array): Promise<number> {
    const subject = this.#subjects.of(event.type);
    const headers = eventHeaders(event, this.#processId);
    const operation = `publishing event ${JSON.stringify(event.type)}`;
    const deadline = Date.now() + this.#publishTimeout;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ClosedError("NATS event transport");
      const left = deadline - Date.now();
      try {
        // Short attempts: a publish sent while the connection was down can be lost without an
        // answer, and the next attempt (same message id) is stored at most once anyway.
        const ack = await this.#js.publish(subject, body, { msgID: event.id, headers, timeout: Math.max(100, Math.min(ATTEMPT_MS, left)) });
        return ack.seq;
      } catch (error) {
        const mapped = eventError(error, operation, this.#publishTimeout);
        if (!isTransient(mapped)) throw mapped;
        if (Date.now() >= deadline) throw new TimeoutError(operation, this.#publishTimeout);
        await delay(Math.min(1_000, 50 * 2 ** attempt));
      }
    }
  }

  #onMessage(m: JsMsg): void {
    const seq = m.seq;
    if (seq <= this.#position || this.#closed) return;
    const skipped = seq > this.#position + 1;
    this.#position = seq;
    if (skipped && this.#pending.size > 0) {
      // Own events the stream discarded before the consumer reached them.
      for (const p of [...this.#pending.values()]) if (p.seq !== 0 && p.seq < seq) this.#deliver(p.event);
    }
    const event = decodeEvent(m.data, seq, m.info.timestampNanos / 1e6);
    if (event !== undefined) {
      const own = m.headers?.get(Header.origin) === this.#processId ? this.#pending.get(event.id) : undefined;
      this.#deliver(own?.event ?? event);
    }
    if (this.#waiters.length > 0) {
      const due = this.#waiters.filter((w) => w.seq <= seq);
      if (due.length > 0) {
        this.#waiters = this.#waiters.filter((w) => w.seq > seq);
        for (const w of due) w.resolve();
      }
    }
  }

  /** Hands one event to the bus (history only, before a bus attached) and settles its publish. */
  #deliver(event: CoveyEvent): void {
    const pending = this.#pending.get(event.id);
    if (pending !== undefined && pending.event === event) this.#pending.delete(event.id);
    const sink = this.#sink;
    if (sink === undefined) {
      this.#early.push(event);
      // Bounded while no bus attached: keep the stream's worth.
      const keep = this.#maxMsgs < 0 ? Infinity : this.#maxMsgs;
      if (this.#early.length > 2 * keep) this.#early = this.#early.slice(this.#early.length - keep);
      pending?.resolve();
      return;
    }
    const done = sink.receive(event);
    if (pending === undefined || pending.event !== event) {
      done?.catch(() => undefined);
      return;
    }
    if (done === undefined) pending.resolve();
    else done.then(pending.resolve, pending.resolve);
  }
}

/**
 * Opens the event stream of `mesh` (creating it if missing) and loads the events it retains,
 * ready for a bus to attach.
 * @internal
 */
export async function openEventTransport(nc: NatsConnection, opts: NatsEventTransportOptions): Promise<NatsEventTransport> {
  const subjects = new EventSubjects(opts.mesh);
  const timeout = opts.publishTimeoutMs ?? 30_000;
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const info = await ensureEventStream(jsm, subjects, opts.storage ?? "file", maxMsgs(opts.historyLimit ?? 1000));
    const transport = new NatsEventTransport(js, jsm, subjects, opts.processId, info, timeout);
    try {
      await transport.start(nc);
    } catch (error) {
      await transport.dispose();
      throw error;
    }
    return transport;
  } catch (error) {
    throw eventError(error, `opening the event stream ${subjects.stream}`, timeout);
  }
}
