import { TimeoutError } from "../errors.js";
import { onAbort } from "../runtime/abort.js";
import type { TimerQueue } from "../runtime/timer-queue.js";
import { checkTimeout, type WaitOptions } from "../runtime/wait.js";

/** A wait for the first item of a subscription that its owner can end (on close). @internal */
export interface FirstItemWait {
  /** Rejects the wait with `reason`, leaving nothing behind; no effect once it ended. */
  cancel(reason: unknown): void;
}

/**
 * Waits for the first item `subscribe` delivers: `once` on the event bus and on pub-sub.
 * Resolves with it, or rejects with a TimeoutError (naming `what`) after `timeout` ms, with the
 * signal's reason when it aborts (at once if it already has), or with what the owner passes to
 * `cancel`. Whichever comes first, the subscription, the deadline and the abort listener are all
 * gone afterwards. `register` lets the owner keep the wait until it ends (`unregister`).
 * @internal
 */
export function firstItem<T>(
  subscribe: (deliver: (item: T) => void) => () => void,
  opts: WaitOptions | undefined,
  timers: TimerQueue,
  what: string,
  register: (wait: FirstItemWait) => () => void,
): Promise<T> {
  const timeout = checkTimeout(opts?.timeout, what);
  const signal = opts?.signal;
  signal?.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let unsubscribe: (() => void) | undefined;
    let unregister: (() => void) | undefined;
    let cancelTimer: (() => void) | undefined;
    let off: (() => void) | undefined;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      unsubscribe?.();
      unregister?.();
      cancelTimer?.();
      off?.();
      unsubscribe = unregister = cancelTimer = off = undefined;
      return true;
    };
    unsubscribe = subscribe((item) => {
      if (finish()) resolve(item);
    });
    // A subscription that delivered synchronously has already finished.
    if (done) return;
    unregister = register({
      cancel: (reason) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the owner's ClosedError, passed on unchanged
        if (finish()) reject(reason);
      },
    });
    if (timeout !== undefined) {
      const deadline = timers.add(timeout, () => {
        cancelTimer = undefined;
        if (finish()) reject(new TimeoutError(what, timeout));
      });
      cancelTimer = () => deadline.cancel();
    }
    if (signal !== undefined) {
      off = onAbort(signal, (reason) => {
        off = undefined;
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's reason, unchanged, as every wait does
        if (finish()) reject(reason);
      });
    }
  });
}
