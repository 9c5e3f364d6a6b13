import { ValidationError } from "../errors.js";
import { systemClock, type Clock, type TimerHandle } from "./clock.js";
import { describeValue } from "./describe.js";
import { onAbort } from "./abort.js";

/** The longest delay one platform timer takes (2^31-1 ms). */
const MAX_TIMER_DELAY = 2_147_483_647;

/** The options every covey wait accepts. */
export interface WaitOptions {
  /** Milliseconds on the system's clock before the wait gives up. */
  timeout?: number | undefined;
  /** Aborting it ends the wait at once, rejecting with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/**
 * Checks a `timeout` option: undefined or Infinity mean "no timeout"; a negative or NaN
 * value is a caller bug and gets a ValidationError.
 * @internal
 */
export function checkTimeout(timeout: number | undefined, what: string): number | undefined {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    throw new ValidationError(`${what}: timeout must be a number >= 0, got ${describeValue(timeout)}`, [
      { path: ["timeout"], message: "must be a number >= 0" },
    ]);
  }
  return timeout;
}

/** Throws a ValidationError unless `value` is a non-empty string. @internal */
export function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ValidationError(`${what} must be a non-empty string, got ${typeof value === "string" ? '""' : typeof value}`, [
      { path: [what], message: "must be a non-empty string" },
    ]);
  }
}

/**
 * Resolves after `ms` on `clock` (virtual time in tests); rejects with `signal.reason` if
 * aborted first, leaving no timer or listener behind.
 *
 * Unlike covey's own timeouts, a sleep on the wall clock keeps the process alive, as
 * `setTimeout` does: it stands for work the program is waiting on.
 *
 * @example
 * ```ts
 * await sleep(ctx.clock, 100); // simulated work
 * ```
 */
export function sleep(clock: Clock, ms: number, opts: { signal?: AbortSignal | undefined } = {}): Promise<void> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    let off: (() => void) | undefined;
    const done = (): void => {
      off?.();
      resolve();
    };
    // Node's timers overflow past 2^31-1 ms (a warning, then 1 ms): sleep longer in steps.
    const until = clock.now() + ms;
    let handle: TimerHandle;
    const arm = (left: number): void => {
      const next = left > MAX_TIMER_DELAY ? step : done;
      const delay = left > MAX_TIMER_DELAY ? MAX_TIMER_DELAY : left;
      handle = clock === systemClock ? setTimeout(next, delay) : clock.setTimeout(next, delay);
    };
    const step = (): void => arm(until - clock.now());
    arm(ms);
    if (signal !== undefined) {
      off = onAbort(signal, (reason) => {
        if (clock === systemClock) clearTimeout(handle as ReturnType<typeof setTimeout>);
        else clock.clearTimeout(handle);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's reason, unchanged
        reject(reason);
      });
    }
  });
}
