import type fc from "fast-check";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import { LaneOrder, type DeliveryKind, type Scheduler } from "../../src/runtime/scheduler.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

/**
 * A covey runtime whose every delivery (grant, reply, publication, event, stream item, watch
 * notification) is handed to fast-check's scheduler, so fast-check chooses the order in which
 * concurrent deliveries happen and shrinks a failing interleaving to a small one.
 */
export interface FcRuntime {
  readonly runtime: Runtime;
  readonly clock: VirtualClock;
  /** Deliveries handed over but not run yet. */
  readonly pending: () => number;
  /** Errors thrown by delivered functions (a delivery must never throw). */
  readonly errors: unknown[];
}

export function fcRuntime(s: fc.Scheduler, opts: { checkPayloads?: boolean } = {}): FcRuntime {
  const clock = new VirtualClock();
  const errors: unknown[] = [];
  let pending = 0;
  const lanes = new LaneOrder();
  const hand = (kind: DeliveryKind, fn: () => void, to: string | undefined): void => {
    pending++;
    void s.schedule(Promise.resolve(), to === undefined ? kind : `${kind}→${to}`).then(() => {
      pending--;
      try {
        fn();
      } catch (err) {
        errors.push(err);
      }
    });
  };
  const scheduler: Scheduler = {
    // Deliveries of one lane (one publisher to one subscription) keep their order, as a
    // connection would; fast-check interleaves everything else.
    deliver(kind: DeliveryKind, fn: () => void, to?: string, lane?: unknown): void {
      if (lane === undefined) hand(kind, fn, to);
      else lanes.submit(lane, fn, (inLane) => hand(kind, inLane, to));
    },
    get pending() {
      return pending + lanes.waiting;
    },
  };
  const runtime = createRuntime({ clock, scheduler, checkPayloads: opts.checkPayloads ?? true });
  return { runtime, clock, pending: () => pending, errors };
}

/** How many runs each property gets: more under COVEY_HEAVY=1. */
export function runs(normal: number, heavy: number): number {
  return process.env["COVEY_HEAVY"] === "1" ? heavy : normal;
}

/**
 * Appends a figure to the reliability report when COVEY_RELIABILITY_OUT names a file (the
 * figures quoted in RELIABILITY.md come from there); otherwise does nothing.
 */
export async function report(property: string, figures: Record<string, number | string>): Promise<void> {
  const out = process.env["COVEY_RELIABILITY_OUT"];
  if (out === undefined || out === "") return;
  const { appendFileSync } = await import("node:fs");
  appendFileSync(out, `${JSON.stringify({ property, ...figures, heavy: process.env["COVEY_HEAVY"] === "1" })}\n`);
}
