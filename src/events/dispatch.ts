import type { CoveyEvent } from "./types.js";

/**
 * One subscription. Unsubscribing clears `active`, so a delivery that a deferring scheduler
 * has not run yet never reaches a handler that was removed in the meantime.
 * @internal
 */
export interface Subscription {
  readonly type: string;
  readonly handler: (event: CoveyEvent) => unknown;
  active: boolean;
}

/**
 * Reports a handler failure; returns the promise of the `error_occurred` emit it started,
 * if any, so the failing emit can wait for it.
 * @internal
 */
export type FailureHook = (error: unknown, event: CoveyEvent) => Promise<void> | undefined;

/**
 * The bookkeeping of one emit: how many handler runs are still going, and whom to tell when
 * they are all done. Sync handlers finish inside `invoke`; only a handler that returns a
 * promise (or a delivery that the scheduler defers) makes the emit wait.
 * @internal
 */
export class EmitRun {
  readonly event: CoveyEvent;
  readonly #onFailure: FailureHook;
  #remaining = 0;
  #resolve: (() => void) | undefined;

  constructor(event: CoveyEvent, onFailure: FailureHook) {
    this.event = event;
    this.#onFailure = onFailure;
  }

  /** Counts a delivery before it is handed to the scheduler (which may run it at once). */
  expect(): void {
    this.#remaining++;
  }

  /**
   * Runs one handler with its errors isolated; called by the scheduler's delivery. Never
   * throws: whatever the handler returns or throws (a thenable whose `then` getter throws, a
   * Proxy whose traps throw) ends as this handler's failure, and the other handlers still run.
   */
  invoke(sub: Subscription): void {
    if (sub.active) {
      let result: unknown;
      let then: unknown;
      try {
        result = sub.handler(this.event);
        // Read once: a getter may answer differently on a second read.
        if (result !== null && (typeof result === "object" || typeof result === "function")) then = (result as { then?: unknown }).then;
      } catch (err) {
        this.#fail(err);
        this.#finish();
        return;
      }
      if (typeof then === "function") {
        this.#await(result, then as (this: unknown, ok: () => void, fail: (e: unknown) => void) => unknown);
        return;
      }
    }
    this.#finish();
  }

  /** Waits for a handler's thenable; counts it once however it calls back (or throws). */
  #await(thenable: unknown, then: (this: unknown, ok: () => void, fail: (e: unknown) => void) => unknown): void {
    let settled = false;
    const ok = (): void => {
      if (settled) return;
      settled = true;
      this.#finish();
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      this.#fail(err);
      this.#finish();
    };
    try {
      then.call(thenable, ok, fail);
    } catch (err) {
      fail(err);
    }
  }

  /** Undefined when every handler is done already (the common, all-sync case); else a promise. */
  done(): Promise<void> | undefined {
    if (this.#remaining === 0) return undefined;
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  #fail(err: unknown): void {
    let reported: Promise<void> | undefined;
    try {
      reported = this.#onFailure(err, this.event);
    } catch {
      // The bus's failure hook guards itself; this is the last line of defence.
      reported = undefined;
    }
    if (reported !== undefined) {
      this.#remaining++;
      const finish = (): void => this.#finish();
      reported.then(finish, finish);
    }
  }

  #finish(): void {
    if (--this.#remaining === 0 && this.#resolve !== undefined) {
      const resolve = this.#resolve;
      this.#resolve = undefined;
      resolve();
    }
  }
}
