import { onAbort } from "../runtime/abort.js";

/** What the function given to `Lock#withLock` receives besides the fencing token. */
export interface LockScope {
  /**
   * Aborts when the lock stops protecting the function: its lease expired, an automatic
   * renewal failed, or the lock was closed (reason: a `TimeoutError` naming the lease, or a
   * `ClosedError`). It also aborts with the caller's reason when the `signal` given to
   * `withLock` aborts while the function runs. Created on first read, so a function that never
   * looks at it costs nothing.
   */
  readonly signal: AbortSignal;
}

/**
 * One run of a `withLock` function: remembers whether the lock was lost under it and aborts
 * its signal (made lazily) when that happens.
 * @internal
 */
export class HeldScope implements LockScope {
  readonly token: number;
  readonly #callerSignal: AbortSignal | undefined;
  #controller: AbortController | undefined = undefined;
  #off: (() => void) | undefined = undefined;
  #lost = false;
  #reason: unknown = undefined;

  constructor(token: number, callerSignal: AbortSignal | undefined) {
    this.token = token;
    this.#callerSignal = callerSignal;
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      const caller = this.#callerSignal;
      if (this.#lost) controller.abort(this.#reason);
      else if (caller?.aborted === true) controller.abort(caller.reason);
      else if (caller !== undefined) {
        this.#off = onAbort(caller, (reason) => {
          this.#off = undefined;
          controller!.abort(reason);
        });
      }
    }
    return controller.signal;
  }

  /** Whether the lock was lost while the function ran. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Why the lock was lost. */
  get reason(): unknown {
    return this.#reason;
  }

  /** The lock no longer protects the function; the first reason wins. */
  lose(reason: unknown): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** Drops the listener on the caller's signal; called when the function has returned. */
  end(): void {
    this.#off?.();
    this.#off = undefined;
  }
}
