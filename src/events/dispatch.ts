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

  /** Runs one handler with its errors isolated; called by the scheduler's delivery. */
  invoke(sub: Subscription): void {
    if (sub.active) {
      let result: unknown;
      try {
        result = sub.handler(this.event);
      } catch (err) {
        this.#fail(err);
        this.#finish();
        return;
      }
      if (result !== null && (typeof result === "object" || typeof result === "function") && typeof (result as PromiseLike<unknown>).then === "function") {
        Promise.resolve(result as PromiseLike<unknown>).then(
          () => this.#finish(),
          (err: unknown) => {
            this.#fail(err);
            this.#finish();
          },
        );
        return;
      }
    }
    this.#finish();
  }

  /** Undefined when every handler is done already (the common, all-sync case); else a promise. */
  done(): Promise<void> | undefined {
    if (this.#remaining === 0) return undefined;
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  #fail(err: unknown): void {
    const reported = this.#onFailure(err, this.event);
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
