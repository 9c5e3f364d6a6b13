import { ClosedError, ValidationError } from "../errors.js";
import { assertJson } from "../runtime/json.js";
import { resolveRuntime, type Runtime, type RuntimeOptions } from "../runtime/runtime.js";
import { checkName, checkTimeout, type WaitOptions } from "../runtime/wait.js";
import { describeValue } from "../runtime/describe.js";
import { END, Stream, type ReceiveHolder } from "./stream.js";

/** Default `highWaterMark` of a stream. */
const DEFAULT_HIGH_WATER_MARK = 16;
/**
 * How many ended stream ids are remembered (oldest forgotten first), so that a late receive on
 * one still gets `undefined` at once and a late send still gets ClosedError.
 */
const ENDED_REMEMBERED = 1024;

/** Options of {@link StreamingChannel.createStream}. */
export interface StreamOptions {
  /** Items buffered before `send` waits for a receiver to make room. @default 16 */
  highWaterMark?: number;
}

/**
 * A typed handle on one stream, from {@link StreamingChannel.createStream}: the channel's
 * methods with the stream id filled in and the item type `T` checked at compile time.
 */
export interface StreamHandle<T> {
  readonly id: string;
  /** `channel.send(id, data, opts)`. */
  send(data: T, opts?: WaitOptions): Promise<void>;
  /** `channel.receive(id, opts)`: the next item, or undefined (timed out, or closed and drained). */
  receive(opts?: WaitOptions): Promise<T | undefined>;
  /** `channel.iterate(id, opts)`. */
  iterate(opts?: { signal?: AbortSignal }): AsyncIterableIterator<T>;
  /** `for await (const item of handle)`: the same as `iterate()`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
  /** `channel.closeStream(id)`. */
  close(): void;
  /** `channel.info(id)`. */
  info(): StreamInfo | undefined;
}

/** What {@link StreamingChannel.info} reports about one stream. */
export interface StreamInfo {
  readonly highWaterMark: number;
  /** Items sent and not yet received. */
  readonly buffered: number;
  /** Senders waiting for room. */
  readonly blockedSenders: number;
  /** Receivers waiting for data. */
  readonly waitingReceivers: number;
  readonly closed: boolean;
}

/**
 * Named, ordered, bounded streams between senders and receivers, with backpressure: `send`
 * resolves at once while fewer than `highWaterMark` items are buffered, and otherwise
 * waits (FIFO among blocked senders) until a receiver makes room.
 *
 * A stream is created on first use (with highWaterMark 16) or by {@link createStream}.
 * Closing it rejects blocked and later senders with `ClosedError`; what was buffered still
 * drains, then receivers get `undefined` and iterations end.
 *
 * @example
 * ```ts
 * const streams = new StreamingChannel();
 * streams.createStream("progress", { highWaterMark: 4 });
 * void (async () => {
 *   for (let i = 1; i <= 3; i++) await streams.send("progress", i);
 *   streams.closeStream("progress");
 * })();
 * for await (const n of streams.iterate<number>("progress")) console.log(n); // 1, 2, 3
 * ```
 */
export class StreamingChannel {
  readonly #runtime: Runtime;
  readonly #streams = new Map<string, Stream>();
  // Ids of the streams that ended most recently, oldest first (a Set keeps insertion order).
  readonly #ended = new Set<string>();
  readonly #forget = (stream: Stream): void => {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    if (stream.closed) this.#remember(stream.id);
    else this.#onForgotten?.(stream.id, false);
  };
  #closed = false;

  readonly #onForgotten: ((streamId: string, ended: boolean) => void) | undefined;

  constructor(
    opts?: RuntimeOptions & {
      /**
       * @internal the channel holds nothing of stream `streamId` any more: a stream made on first
       * use went idle (`ended` false), or an ended stream's id left the remembered ones (`ended` true)
       */
      onForgotten?: (streamId: string, ended: boolean) => void;
    },
  ) {
    this.#runtime = resolveRuntime(opts);
    this.#onForgotten = opts?.onForgotten;
  }

  /**
   * Creates stream `streamId` with the given options. On a stream that already exists it
   * changes nothing (a different `highWaterMark` is a ValidationError), except that a
   * stream that was closed and fully drained is replaced by a fresh open one, so an id can
   * be reused once its stream has ended.
   *
   * @returns a handle on the stream whose `send`, `receive` and iteration take and give `T`
   * @throws ValidationError when `highWaterMark` is not an integer >= 1; ClosedError after {@link close}.
   * @example
   * ```ts
   * const tokens = streams.createStream<string>("tokens", { highWaterMark: 64 });
   * await tokens.send("Hello");           // tokens.send(42) does not compile
   * for await (const t of tokens) process.stdout.write(t);
   * ```
   */
  createStream<T = unknown>(streamId: string, opts?: StreamOptions): StreamHandle<T> {
    this.#create(streamId, opts);
    return handleOf<T>(this, streamId);
  }

  #create(streamId: string, opts: StreamOptions | undefined): void {
    if (this.#closed) throw new ClosedError("streaming channel");
    checkName(streamId, "streamId");
    const hwm = opts?.highWaterMark;
    if (hwm !== undefined && (!Number.isInteger(hwm) || hwm < 1)) {
      throw new ValidationError(`highWaterMark must be an integer >= 1, got ${describeValue(hwm)}`, [
        { path: ["highWaterMark"], message: "must be an integer >= 1" },
      ]);
    }
    const existing = this.#streams.get(streamId);
    if (existing !== undefined && !existing.ended) {
      if (hwm !== undefined && hwm !== existing.highWaterMark) {
        throw new ValidationError(
          `stream ${JSON.stringify(streamId)} already exists with highWaterMark ${existing.highWaterMark}, not ${hwm}`,
          [{ path: ["highWaterMark"], message: "differs from the existing stream's" }],
        );
      }
      // Made on first use, now asked for: kept while open from here on.
      existing.explicit = true;
      return;
    }
    this.#ended.delete(streamId);
    this.#streams.set(streamId, new Stream(streamId, hwm ?? DEFAULT_HIGH_WATER_MARK, this.#runtime, true, this.#forget));
  }

  /**
   * A typed handle on stream `streamId` without creating it (it is created on first use, as by
   * the channel's own methods). Use it for a stream another party creates.
   */
  stream<T = unknown>(streamId: string): StreamHandle<T> {
    checkName(streamId, "streamId");
    return handleOf<T>(this, streamId);
  }

  /**
   * Appends `data` to the stream. Resolves at once while the buffer holds fewer than
   * `highWaterMark` items (or a receiver is waiting); otherwise when a receiver makes room.
   *
   * @param opts.timeout ms to wait for room; then `TimeoutError` and the data is not sent.
   * @throws ClosedError (as a rejection) when the stream is or gets closed before the data is buffered.
   */
  async send<T>(streamId: string, data: T, opts?: WaitOptions): Promise<void> {
    checkName(streamId, "streamId");
    const timeout = checkTimeout(opts?.timeout, `send to stream ${JSON.stringify(streamId)}`);
    opts?.signal?.throwIfAborted();
    if (this.#closed) throw new ClosedError("streaming channel");
    if (this.#runtime.checkPayloads) assertJson(data, `data sent to stream ${JSON.stringify(streamId)}`);
    if (this.#ended.has(streamId)) throw new ClosedError(`stream ${JSON.stringify(streamId)}`);
    const wait = this.#stream(streamId).send(data, timeout, opts?.signal);
    if (wait !== undefined) await wait;
  }

  /**
   * The next item of the stream, waiting for one if none is buffered.
   *
   * @returns the item, or `undefined` when `timeout` ran out or the stream is closed and drained.
   * Without `timeout` it waits until data arrives, the stream closes or `signal` aborts.
   */
  async receive<T>(streamId: string, opts?: WaitOptions): Promise<T | undefined> {
    checkName(streamId, "streamId");
    const timeout = checkTimeout(opts?.timeout, `receive from stream ${JSON.stringify(streamId)}`);
    const signal = opts?.signal;
    signal?.throwIfAborted();
    // Nothing to take and no wait: an unknown id stays unknown.
    if (timeout === 0 && !this.#streams.has(streamId)) return undefined;
    const stream = this.#existing(streamId);
    if (stream === undefined) return undefined;
    const item = await stream.receive(timeout, signal);
    return item === END ? undefined : (item as T);
  }

  /**
   * The stream's items as an async iterable, which ends once the stream is closed and
   * drained. Breaking out of a `for await` loop stops the iteration (a pending wait is
   * withdrawn) without closing the stream. An aborted `signal` rejects the pending `next()`
   * with its reason.
   *
   * @example
   * ```ts
   * for await (const chunk of streams.iterate<string>("tokens")) process.stdout.write(chunk);
   * ```
   */
  iterate<T>(streamId: string, opts?: { signal?: AbortSignal }): AsyncIterableIterator<T> {
    checkName(streamId, "streamId");
    const signal = opts?.signal;
    // The stream this iteration read from last: once it ended, the iteration is over, even if
    // the id was forgotten or reused by a new stream since.
    let last: Stream | undefined;
    return new StreamIterator<T>((holder) => {
      signal?.throwIfAborted();
      if (last?.ended === true) return END;
      last = this.#existing(streamId);
      return last === undefined ? END : last.receive(undefined, signal, holder);
    });
  }

  /**
   * Closes the stream: blocked and later senders get `ClosedError`; buffered data still
   * drains; receivers waiting on it get `undefined`. An unknown id is created closed.
   */
  closeStream(streamId: string): void {
    checkName(streamId, "streamId");
    if (this.#ended.has(streamId)) return;
    this.#stream(streamId).close();
  }

  /**
   * The ids of the streams held now: open streams made by `createStream`, and streams holding
   * data or waiters. A stream that was closed and drained is forgotten (its id is remembered
   * among the last 1,024 ended ones, so a late receive gets `undefined` and a late send
   * ClosedError); one made on first use is forgotten as soon as it holds nothing.
   */
  streamIds(): IterableIterator<string> {
    return this.#streams.keys();
  }

  /** A snapshot of stream `streamId`, or undefined if it does not exist. */
  info(streamId: string): StreamInfo | undefined {
    const s = this.#streams.get(streamId);
    if (s === undefined) return undefined;
    return {
      highWaterMark: s.highWaterMark,
      buffered: s.buffered,
      blockedSenders: s.blockedSenders,
      waitingReceivers: s.waitingReceivers,
      closed: s.closed,
    };
  }

  /**
   * Puts `data` back at the head of stream `streamId`: an item a receiver in another process
   * was handed but could not take. A stream that ended meanwhile comes back closed, holding
   * it. Lost on a closed channel.
   * @internal
   */
  putBack(streamId: string, data: unknown): void {
    if (this.#closed) return;
    const wasEnded = this.#ended.delete(streamId);
    const s = this.#stream(streamId);
    s.putBack(data);
    if (wasEnded) s.close();
  }

  /** Whether the channel holds stream `streamId`, or remembers that it ended. @internal */
  holds(streamId: string): boolean {
    return this.#streams.has(streamId) || this.#ended.has(streamId);
  }

  /** Closes every stream, and the channel: later sends and createStream get `ClosedError`. Idempotent. */
  close(): void {
    this.#closed = true;
    // Closing may forget a stream (deleting it from the map): iterate over a copy.
    for (const s of [...this.#streams.values()]) s.close();
  }

  /**
   * The stream to receive from: created on first use, except on a closed channel or for an
   * id whose stream ended recently (undefined: nothing will ever come).
   */
  #existing(id: string): Stream | undefined {
    if (this.#closed || this.#ended.has(id)) return this.#streams.get(id);
    return this.#stream(id);
  }

  #stream(id: string): Stream {
    let s = this.#streams.get(id);
    if (s === undefined) {
      s = new Stream(id, DEFAULT_HIGH_WATER_MARK, this.#runtime, false, this.#forget);
      this.#streams.set(id, s);
      if (this.#closed) s.close();
    }
    return s;
  }

  #remember(id: string): void {
    const ended = this.#ended;
    ended.delete(id);
    ended.add(id);
    if (ended.size > ENDED_REMEMBERED) {
      const oldest = ended.values().next().value!;
      ended.delete(oldest);
      this.#onForgotten?.(oldest, true);
    }
  }
}

function handleOf<T>(channel: StreamingChannel, id: string): StreamHandle<T> {
  return Object.freeze({
    id,
    send: (data: T, opts?: WaitOptions) => channel.send<T>(id, data, opts),
    receive: (opts?: WaitOptions) => channel.receive<T>(id, opts),
    iterate: (opts?: { signal?: AbortSignal }) => channel.iterate<T>(id, opts),
    [Symbol.asyncIterator]: () => channel.iterate<T>(id),
    close: () => channel.closeStream(id),
    info: () => channel.info(id),
  });
}

class StreamIterator<T> implements AsyncIterableIterator<T>, ReceiveHolder {
  waiter: { cancel(): void } | undefined = undefined;
  readonly #receive: (holder: ReceiveHolder) => unknown;
  #done = false;

  constructor(receive: (holder: ReceiveHolder) => unknown) {
    this.#receive = receive;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return { done: true, value: undefined };
    this.waiter = undefined;
    let item: unknown;
    try {
      item = await this.#receive(this);
    } finally {
      this.waiter = undefined;
    }
    // An item already taken is returned even if return() came meanwhile: never lose data.
    if (item === END) {
      this.#done = true;
      return { done: true, value: undefined };
    }
    return { done: false, value: item as T };
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    this.#done = true;
    this.waiter?.cancel();
    this.waiter = undefined;
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
