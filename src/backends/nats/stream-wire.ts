import { encodeKey } from "./key-codec.js";

/**
 * The operations a process asks of a stream's host (the last token but one of the subject).
 * `send`, `receive`, `create` and `info` are answered on the reply subject; `close` is not.
 * @internal
 */
export type StreamOp = "send" | "receive" | "create" | "info" | "close";

const OPS: ReadonlySet<string> = new Set<StreamOp>(["send", "receive", "create", "info", "close"]);

/** Whether a subject token names a {@link StreamOp}. @internal */
export function isStreamOp(token: string): token is StreamOp {
  return OPS.has(token);
}

/**
 * Subjects of the streams of one mesh (see docs/wire.md, "Streams"):
 *
 * - `<root>.stream.<host>.<op>.<encoded stream id>`: an operation on a stream hosted by process
 *   `<host>` (it subscribes to `<root>.stream.<host>.>`);
 * - `<root>.stream.<host>.ctl`: cancellations and acknowledgements of earlier operations;
 * - `<root>.stream-reply.<caller>.<host>.<n>`: the answers to the caller's operations (the host
 *   in the subject lets a late answer be handed back to its host);
 * - `<root>.stream-reply.<caller>.ping`: a request the caller answers while it is connected.
 * @internal
 */
export class StreamSubjects {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  /** Everything process `host` serves. */
  hostAll(host: string): string {
    return `${this.#root}.stream.${host}.>`;
  }

  op(host: string, op: StreamOp, streamId: string): string {
    return `${this.#root}.stream.${host}.${op}.${encodeKey(streamId)}`;
  }

  control(host: string): string {
    return `${this.#root}.stream.${host}.ctl`;
  }

  /** Subscription of the caller's replies. */
  repliesAll(caller: string): string {
    return `${this.#root}.stream-reply.${caller}.>`;
  }

  reply(caller: string, host: string, n: number): string {
    return `${this.#root}.stream-reply.${caller}.${host}.${n}`;
  }

  /** Where a host asks whether caller `caller` is still there (it answers while connected). */
  ping(caller: string): string {
    return `${this.#root}.stream-reply.${caller}.ping`;
  }

  /** The caller named in a covey reply subject, undefined for another client's reply subject. */
  callerOfReply(subject: string): string | undefined {
    const prefix = `${this.#root}.stream-reply.`;
    if (!subject.startsWith(prefix)) return undefined;
    const tokens = subject.slice(prefix.length).split(".");
    return tokens.length === 3 ? tokens[0] : undefined;
  }

  /** The host named in a reply subject (the token before the counter). */
  hostOfReply(subject: string): string | undefined {
    const tokens = subject.split(".");
    return tokens.length >= 2 ? tokens[tokens.length - 2] : undefined;
  }

  /** Number of tokens before the op in an operation subject. */
  get opIndex(): number {
    return this.#root.split(".").length + 2;
  }
}

/**
 * The body of a control message on `<root>.stream.<host>.ctl`:
 * - `cancel`: the caller gave up waiting (`gone: false`: it still takes the host's answer,
 *   whatever it is; `gone: true`: it takes nothing, so an item already handed to it goes back
 *   to the head of the stream);
 * - `ack`: the caller took the item of a `receive` answer;
 * - `nack`: the caller could not take it (it goes back to the head).
 * @internal
 */
export interface StreamControl {
  reply: string;
  kind: "cancel" | "ack" | "nack";
  gone?: boolean;
  /** For a cancel: why (`abort`, `closed`). */
  reason?: string;
  message?: string;
}

/** The body of a `receive` answer: `{"item": value}`, or `{}` when there is none (timed out, or closed and drained). @internal */
export interface ReceiveAnswer {
  item?: unknown;
}
