import { DeadlockError } from "../errors.js";
import { checkMaxSteps, drive } from "./drive.js";
import type { VirtualClock } from "./virtual-clock.js";

/** Options of {@link runUntil}. */
export interface RunUntilOptions {
  /** Timer steps before giving up. @default 10000 (predicate), 100000 (promise) */
  maxSteps?: number;
  /** @internal what is stuck, for the DeadlockError (a test system lists its calls and waits). */
  waiting?: () => string[];
}

/**
 * Steps ready deliveries and virtual timers, one timer at a time, until `predicate` holds, or
 * until `promise` settles (then resolves or rejects as it does).
 *
 * @throws DeadlockError when it never holds: no delivery or timer is left, or `maxSteps`
 * timers fired.
 * @example
 * ```ts
 * await runUntil(clock, async () => (await system.kv.get("done")) !== undefined);
 * const reply = await runUntil(clock, system.call("slow", {}));
 * ```
 */
export function runUntil<T>(clock: VirtualClock, promise: Promise<T>, opts?: RunUntilOptions): Promise<T>;
export function runUntil(clock: VirtualClock, predicate: () => boolean | Promise<boolean>, opts?: RunUntilOptions): Promise<void>;
export async function runUntil(
  clock: VirtualClock,
  until: (() => boolean | Promise<boolean>) | Promise<unknown>,
  opts: RunUntilOptions = {},
): Promise<unknown> {
  const waiting = opts.waiting ?? ((): string[] => []);
  if (typeof until !== "function") {
    return drive(clock, until, waiting, opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {});
  }
  const maxSteps = opts.maxSteps === undefined ? 10_000 : checkMaxSteps(opts.maxSteps);
  for (let step = 0; ; step++) {
    await clock.settle();
    if (await until()) return;
    const due = clock.nextDue;
    if (due === undefined) {
      throw new DeadlockError(
        waiting(),
        `runUntil: the condition never held; nothing is left to run (after ${step} timer steps, clock at ${clock.now()} ms)`,
      );
    }
    if (step >= maxSteps) {
      throw new DeadlockError(waiting(), `runUntil: the condition did not hold within ${maxSteps} timer steps (clock at ${clock.now()} ms)`);
    }
    await clock.advance(Math.max(0, due - clock.now()));
  }
}
