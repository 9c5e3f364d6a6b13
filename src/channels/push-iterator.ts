import { ValidationError } from "../errors.js";
import { describeValue } from "../runtime/describe.js";
import { onAbort } from "../runtime/abort.js";
import { Fifo } from "./fifo.js";

/** Default number of items an iteration buffers for a consumer that lags behind. */
export const DEFAULT_ITERATE_BUFFER = 1024;

/** Options of `iterate` on the event bus and on pub-sub. */
export interface IterateOptions {
  /** Ends the iteration: a pending or later `next()` rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * How many items are buffered while the loop body runs. When one more arrives, the oldest
   * buffered item is dropped (newest wins, as for a live dashboard) and counted in `dropped`;
   * the emitter or publisher is never slowed down.
   * @default 1024
   */
  bufferSize?: number;
}

/** An async iterator over what a subscription receives. */
export interface SubscriptionIterator<T> extends AsyncIterableIterator<T, undefined> {
  /** Items dropped because the buffer was full (see `bufferSize`). */
  readonly dropped: number;
  next(): Promise<IteratorResult<T, undefined>>;
  /** Ends the iteration (what breaking out of `for await` calls): nothing is left subscribed. */
  return(): Promise<IteratorResult<T, undefined>>;
}

interface Waiter<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(reason: unknown): void;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

/** Checks `bufferSize`. @internal */
export function checkBufferSize(size: unknown): number {
  if (size === undefined) return DEFAULT_ITERATE_BUFFER;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1) {
    throw new ValidationError(`bufferSize must be an integer >= 1, got ${describeValue(size)}`, [
      { path: ["bufferSize"], message: "must be an integer >= 1" },
    ]);
  }
  return size;
}

/**
 * Turns a push subscription into a bounded async iterator: `subscribe(push)` starts it and
 * returns the unsubscriber, which runs exactly once, when the loop breaks (`return()`), the
 * signal aborts, or the owner ends it ({@link end}). Nothing of the iteration is left after
 * that: no subscription, no abort listener, no buffered item.
 * @internal
 */
export class PushIterator<T> implements SubscriptionIterator<T> {
  readonly #buffer = new Fifo<T>();
  readonly #limit: number;
  readonly #waiters = new Fifo<Waiter<T>>();
  #dropped = 0;
  #done = false;
  #aborted = false;
  #reason: unknown = undefined;
  #unsubscribe: (() => void) | undefined;
  #off: (() => void) | undefined;
  readonly #onEnd: ((it: PushIterator<T>) => void) | undefined;

  /**
   * @param subscribe - starts the subscription, delivering items through `push`; returns its remover.
   * @param onEnd - told once when the iteration ends, whatever ended it.
   */
  constructor(subscribe: (push: (item: T) => void) => () => void, opts: IterateOptions | undefined, onEnd?: (it: PushIterator<T>) => void) {
    this.#limit = checkBufferSize(opts?.bufferSize);
    this.#onEnd = onEnd;
    const signal = opts?.signal;
    if (signal?.aborted === true) {
      this.#done = this.#aborted = true;
      this.#reason = signal.reason;
      return;
    }
    this.#unsubscribe = subscribe((item) => this.#push(item));
    if (signal !== undefined) this.#off = onAbort(signal, (reason) => this.#abort(reason));
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** True once the iteration ended. */
  get ended(): boolean {
    return this.#done;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    if (this.#buffer.length > 0) return { done: false, value: this.#buffer.shift() };
    if (this.#aborted) throw this.#reason;
    if (this.#done) return DONE;
    return new Promise<IteratorResult<T, undefined>>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    this.end();
    return DONE;
  }

  async throw(): Promise<IteratorResult<T, undefined>> {
    this.end();
    return DONE;
  }

  [Symbol.asyncIterator](): SubscriptionIterator<T> {
    return this;
  }

  /** Ends the iteration normally: pending `next()` calls resolve done; buffered items are dropped. */
  end(): void {
    if (!this.#stop()) return;
    while (this.#waiters.length > 0) this.#waiters.shift().resolve(DONE);
  }

  #abort(reason: unknown): void {
    this.#off = undefined;
    if (!this.#stop()) return;
    this.#aborted = true;
    this.#reason = reason;
    while (this.#waiters.length > 0) this.#waiters.shift().reject(reason);
  }

  #push(item: T): void {
    if (this.#done) return;
    if (this.#waiters.length > 0) {
      this.#waiters.shift().resolve({ done: false, value: item });
      return;
    }
    this.#buffer.push(item);
    if (this.#buffer.length > this.#limit) {
      this.#buffer.shift();
      this.#dropped++;
    }
  }

  /** Leaves everything behind once; false if already stopped. */
  #stop(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#buffer.clear();
    const unsubscribe = this.#unsubscribe;
    const off = this.#off;
    this.#unsubscribe = this.#off = undefined;
    unsubscribe?.();
    off?.();
    this.#onEnd?.(this);
    return true;
  }
}
