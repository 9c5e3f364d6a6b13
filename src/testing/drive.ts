import { DeadlockError, ValidationError } from "../errors.js";
import type { VirtualClock } from "./virtual-clock.js";

/** Options of a test system's `run`. */
export interface RunOptions {
  /**
   * Timer steps after which a promise still pending counts as stuck (something re-arms a
   * timer forever). @default 100000
   */
  maxSteps?: number;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Throws ValidationError unless `maxSteps` is absent or a whole number >= 0. @internal */
export function checkMaxSteps(maxSteps: unknown): number {
  if (maxSteps === undefined) return 100_000;
  if (typeof maxSteps !== "number" || !Number.isInteger(maxSteps) || maxSteps < 0) {
    throw new ValidationError("maxSteps must be a whole number >= 0", [{ path: ["maxSteps"], message: "must be a whole number >= 0" }]);
  }
  return maxSteps;
}

/**
 * Advances `clock` one timer at a time, letting every ready delivery run in between, until
 * `promise` settles; resolves or rejects as it does. When nothing can make progress while it
 * is pending (no ready delivery, no pending timer), rejects with a {@link DeadlockError}
 * listing `waiting()`.
 *
 * While someone else advances the clock (a scenario's own `clock.advance`, a probe waiting
 * on virtual time), the driver leaves the timers to them, so an explicit `advance(ms)` keeps
 * its meaning.
 * @internal the public form is `run` of a test system.
 */
export async function drive<T>(clock: VirtualClock, promise: Promise<T>, waiting: () => string[], opts: RunOptions = {}): Promise<T> {
  const maxSteps = checkMaxSteps(opts.maxSteps);
  if (promise === null || typeof promise !== "object" || typeof (promise as { then?: unknown }).then !== "function") {
    throw new ValidationError("run takes a promise (e.g. run(system.call(...)))", [{ path: ["promise"], message: "must be a promise" }]);
  }
  let settled = false;
  const watched = Promise.resolve(promise).then(
    (value) => {
      settled = true;
      return value;
    },
    (error: unknown) => {
      settled = true;
      throw error;
    },
  );
  // Observed here so that a rejection while the driver is stepping is never "unhandled"; the
  // caller gets it from the return below.
  const done = watched.then(
    () => undefined,
    () => undefined,
  );
  for (let steps = 0; ; ) {
    // Returns as soon as the promise settles, without waiting for unrelated work to quiesce.
    await Promise.race([done, clock.settle()]);
    if (settled) return watched;
    if (clock.advancing) {
      await turn();
      continue;
    }
    const due = clock.nextDue;
    if (due === undefined) throw new DeadlockError(waiting());
    if (steps >= maxSteps) {
      throw new DeadlockError(waiting(), `still pending after ${maxSteps} timer steps (clock at ${clock.now()} ms; does a timer re-arm itself forever?)`);
    }
    steps++;
    await clock.advance(Math.max(0, due - clock.now()));
  }
}
