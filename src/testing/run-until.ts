import type { VirtualClock } from "./virtual-clock.js";

/**
 * Steps ready deliveries and virtual timers, one timer at a time, until `predicate` holds.
 *
 * @throws Error when it never holds: no delivery or timer is left, or `maxSteps` timers fired.
 * @example
 * ```ts
 * await runUntil(clock, async () => (await system.kv.get("done")) !== undefined);
 * ```
 */
export async function runUntil(
  clock: VirtualClock,
  predicate: () => boolean | Promise<boolean>,
  opts: { maxSteps?: number } = {},
): Promise<void> {
  const maxSteps = opts.maxSteps ?? 10_000;
  for (let step = 0; ; step++) {
    await clock.settle();
    if (await predicate()) return;
    const due = clock.nextDue;
    if (due === undefined) {
      throw new Error(`runUntil: the condition never held; nothing is left to run (after ${step} timer steps, clock at ${clock.now()} ms)`);
    }
    if (step >= maxSteps) {
      throw new Error(`runUntil: the condition did not hold within ${maxSteps} timer steps (clock at ${clock.now()} ms)`);
    }
    await clock.advance(due - clock.now());
  }
}
