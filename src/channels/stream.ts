import { ClosedError, TimeoutError } from "../errors.js";
import { onAbort } from "../runtime/abort.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Deadline } from "../runtime/timer-queue.js";
import { Fifo } from "./fifo.js";
import { WaitList, type Linked } from "./wait-list.js";

/** What a receive yields once a stream is closed and drained (data may itself be undefined). @internal */
export const END: unique symbol = Symbol("covey.stream.end");
/** What an immediate take yields when nothing is buffered yet. @internal */
const NOTHING: unique symbol = Symbol("covey.stream.nothing");

type Settle = (value: unknown) => void;

/** A blocked sender or a waiting receiver. */
abstract class Waiter implements Linked<Waiter> {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  done = false;
  deadline: Deadline | undefined = undefined;
  off: (() => void) | undefined = undefined;
  resolve: Settle;
  reject: Settle;
  readonly list: WaitList<Waiter>;

  constructor(list: WaitList<Waiter>, resolve: Settle, reject: Settle) {
    this.list = list;
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Leaves the queue and drops its deadline and abort listener. Returns false if it had already ended. */
  end(): boolean {
    if (this.done) return false;
    this.done = true;
    this.list.remove(this);
    this.deadline?.cancel();
    this.off?.();
    this.deadline = this.off = undefined;
    return true;
  }
}

class SendWaiter extends Waiter {
  readonly data: unknown;

  constructor(list: WaitList<Waiter>, data: unknown, resolve: Settle, reject: Settle) {
    super(list, resolve, reject);
    this.data = data;
  }
}

class ReceiveWaiter extends Waiter {
  readonly #stream: Stream;

  constructor(stream: Stream, list: WaitList<Waiter>, resolve: Settle, reject: Settle) {
    super(list, resolve, reject);
    this.#stream = stream;
  }

  /** Ends the wait as if the stream had ended (an iterator's `return()`). */
  cancel(): void {
    if (this.end()) {
      this.resolve(END);
      this.#stream.withdrawn();
    }
  }
}

/** Lets an iterator cancel the receive it is waiting on. @internal */
export interface ReceiveHolder {
  waiter: { cancel(): void } | undefined;
}

/**
 * One stream: a bounded buffer, the senders blocked on it (FIFO) and the receivers waiting
 * for data (FIFO). Every decision (who gets which item, who unblocks) is made synchronously;
 * only the waking of a waiter goes through the scheduler.
 * @internal
 */
export class Stream {
  readonly id: string;
  readonly highWaterMark: number;
  /** Made by `createStream` (kept while open) rather than on first use (kept while in use). */
  explicit: boolean;
  closed = false;
  readonly #runtime: Runtime;
  readonly #buffer = new Fifo<unknown>();
  readonly #senders = new WaitList<Waiter>();
  readonly #receivers = new WaitList<Waiter>();
  readonly #onIdle: ((stream: Stream) => void) | undefined;

  /**
   * @param onIdle - called whenever the stream may have become {@link idle}, so its owner can
   *   forget it.
   */
  constructor(id: string, highWaterMark: number, runtime: Runtime, explicit = false, onIdle?: (stream: Stream) => void) {
    this.id = id;
    this.highWaterMark = highWaterMark;
    this.#runtime = runtime;
    this.explicit = explicit;
    this.#onIdle = onIdle;
  }

  /**
   * Holds nothing worth keeping: no data, no waiter, and either ended (closed and drained) or
   * made on first use (a fresh one is the same: empty, open, default highWaterMark).
   */
  get idle(): boolean {
    return this.#buffer.length === 0 && this.#senders.size === 0 && this.#receivers.size === 0 && (this.closed || !this.explicit);
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  get blockedSenders(): number {
    return this.#senders.size;
  }

  get waitingReceivers(): number {
    return this.#receivers.size;
  }

  /** Closed, and every buffered item has been received. */
  get ended(): boolean {
    return this.closed && this.#buffer.length === 0;
  }

  send(data: unknown, timeout: number | undefined, signal: AbortSignal | undefined): Promise<void> | undefined {
    // An aborted signal wins over everything, even data that could go at once: nothing is sent.
    signal?.throwIfAborted();
    if (this.closed) throw new ClosedError(`stream ${JSON.stringify(this.id)}`);
    const receiver = this.#receivers.head;
    if (receiver !== undefined) {
      receiver.end();
      this.#runtime.scheduler.deliver("stream", () => receiver.resolve(data));
      this.#checkIdle();
      return undefined;
    }
    if (this.#buffer.length < this.highWaterMark) {
      this.#buffer.push(data);
      return undefined;
    }
    if (timeout === 0) throw this.#sendTimeout(0);
    return new Promise<void>((resolve, reject) => {
      const w = new SendWaiter(this.#senders, data, resolve as Settle, reject);
      this.#senders.push(w);
      this.#guard(w, timeout, signal, () => w.reject(this.#sendTimeout(timeout!)));
    });
  }

  /**
   * The next item: at once when one is buffered (or the stream ended), else after waiting.
   * Resolves {@link END} when the stream is closed and drained, or the wait timed out.
   */
  receive(timeout: number | undefined, signal: AbortSignal | undefined, holder?: ReceiveHolder): unknown {
    // An aborted signal wins over a buffered item, which stays buffered for someone else.
    signal?.throwIfAborted();
    const item = this.#take();
    if (item !== NOTHING) return item;
    if (timeout === 0) return END;
    return new Promise<unknown>((resolve, reject) => {
      const w = new ReceiveWaiter(this, this.#receivers, resolve, reject);
      this.#receivers.push(w);
      this.#guard(w, timeout, signal, () => w.resolve(END));
      if (holder !== undefined) holder.waiter = w;
    });
  }

  /**
   * Puts `data` back at the head, as if it had never been received (an item handed to a
   * receiver that could not take it): the oldest waiting receiver gets it, else it is the next
   * item buffered, even on a full or closed stream (it was buffered before).
   */
  putBack(data: unknown): void {
    const receiver = this.#receivers.head;
    if (receiver !== undefined) {
      receiver.end();
      this.#runtime.scheduler.deliver("stream", () => receiver.resolve(data));
      this.#checkIdle();
      return;
    }
    // Rare (an abandoned hand-over), so rebuilding the buffer is fine.
    const rest: unknown[] = [];
    while (this.#buffer.length > 0) rest.push(this.#buffer.shift());
    this.#buffer.push(data);
    for (const item of rest) this.#buffer.push(item);
  }

  /** Blocked senders get ClosedError, waiting receivers END; buffered data still drains. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const scheduler = this.#runtime.scheduler;
    for (let w = this.#senders.head; w !== undefined; w = this.#senders.head) {
      w.end();
      const error = new ClosedError(`stream ${JSON.stringify(this.id)}`);
      scheduler.deliver("stream", () => w.reject(error));
    }
    for (let w = this.#receivers.head; w !== undefined; w = this.#receivers.head) {
      w.end();
      scheduler.deliver("stream", () => w.resolve(END));
    }
    this.#checkIdle();
  }

  #take(): unknown {
    if (this.#buffer.length === 0) return this.closed ? END : NOTHING;
    const item = this.#buffer.shift();
    // The room just made goes to the oldest blocked sender.
    const sender = this.#senders.head as SendWaiter | undefined;
    if (sender !== undefined) {
      sender.end();
      this.#buffer.push(sender.data);
      this.#runtime.scheduler.deliver("stream", () => sender.resolve(undefined));
    }
    this.#checkIdle();
    return item;
  }

  /** A waiter left without data: the stream may be idle now. */
  withdrawn(): void {
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#onIdle !== undefined && this.idle) this.#onIdle(this);
  }

  #guard(w: Waiter, timeout: number | undefined, signal: AbortSignal | undefined, expire: () => void): void {
    if (timeout !== undefined) {
      w.deadline = this.#runtime.timers.add(timeout, () => {
        w.deadline = undefined;
        if (w.end()) {
          expire();
          this.#checkIdle();
        }
      });
    }
    if (signal !== undefined) {
      w.off = onAbort(signal, (reason) => {
        w.off = undefined;
        if (w.end()) {
          w.reject(reason);
          this.#checkIdle();
        }
      });
    }
  }

  #sendTimeout(timeout: number): TimeoutError {
    return new TimeoutError(`send to stream ${JSON.stringify(this.id)}`, timeout);
  }
}
