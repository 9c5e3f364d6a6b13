import { TimeoutError } from "../../errors.js";
import { onAbort } from "../../runtime/abort.js";
import type { Runtime } from "../../runtime/runtime.js";

/** What was thrown, as an Error (rejections carry errors). @internal */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Resolves once `p` settled, whatever the outcome. @internal */
export function settled(p: Promise<unknown> | undefined): Promise<void> {
  return p === undefined
    ? Promise.resolve()
    : p.then(
        () => undefined,
        () => undefined,
      );
}

/** A rejected promise with what a synchronous check threw (a signal's reason stays as it is). @internal */
export function rejected<T>(error: unknown): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on unchanged
  return Promise.reject(error);
}

/**
 * `p`, or TimeoutError after `timeout` on the runtime's clock, or the signal's reason:
 * whichever comes first, leaving no timer or listener behind. @internal
 */
export function bounded(p: Promise<void>, runtime: Runtime, timeout: number | undefined, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (timeout === undefined && signal === undefined) return p;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      deadline?.cancel();
      off?.();
      settle();
    };
    const deadline = timeout === undefined ? undefined : runtime.timers.add(timeout, () => finish(() => reject(new TimeoutError(what, timeout))));
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on unchanged
    const off = signal === undefined ? undefined : onAbort(signal, (reason) => finish(() => reject(reason)));
    p.then(
      () => finish(resolve),
      (error: unknown) => finish(() => reject(asError(error))),
    );
  });
}

/** Why an iteration's pending receive was withdrawn (its `return()`), as opposed to its signal. */
const RETURNED = Symbol("covey.stream.returned");

/**
 * An async iterator over repeated receives: ends at the first `undefined` (closed and
 * drained); `return()` withdraws a pending receive through its signal, and an item handed over
 * before the withdrawal arrived is still returned; an aborted `signal` rejects the pending
 * `next()` with its reason.
 * @internal
 */
export function receiveIterator<T>(receive: (signal: AbortSignal) => Promise<T | undefined>, signal: AbortSignal | undefined): AsyncIterableIterator<T> {
  let done = false;
  let withdraw: AbortController | undefined;
  const next = async (): Promise<IteratorResult<T, undefined>> => {
    if (done) return { done: true, value: undefined };
    signal?.throwIfAborted();
    const controller = (withdraw = new AbortController());
    const off = signal === undefined ? undefined : onAbort(signal, (reason) => controller.abort(reason));
    try {
      const item = await receive(controller.signal);
      if (item === undefined) {
        done = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: item };
    } catch (error) {
      if (error === RETURNED) return { done: true, value: undefined };
      throw error;
    } finally {
      off?.();
      if (withdraw === controller) withdraw = undefined;
    }
  };
  const iterator: AsyncIterableIterator<T> = {
    next,
    return: () => {
      done = true;
      withdraw?.abort(RETURNED);
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
