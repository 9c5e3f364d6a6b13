import type fc from "fast-check";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import type { DeliveryKind, Scheduler } from "../../src/runtime/scheduler.js";
import type { Clock, TimerHandle } from "../../src/runtime/clock.js";
import type { Tracer } from "../../src/runtime/trace.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

/** A trace record as the sync primitives write it, with the virtual time of the decision. */
export interface Grant {
  readonly kind: string;
  readonly agent: string | undefined;
  readonly name: string | undefined;
  readonly detail: unknown;
  readonly at: number;
}

/** A scheduler that holds every delivery until the test runs it (in any order it likes). */
export class HeldScheduler implements Scheduler {
  readonly queue: { kind: DeliveryKind; fn: () => void; to: string | undefined }[] = [];

  deliver(kind: DeliveryKind, fn: () => void, to?: string): void {
    this.queue.push({ kind, fn, to });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Runs the held delivery at `index` (oldest first by default). */
  runOne(index = 0): void {
    const [d] = this.queue.splice(index, 1);
    d?.fn();
  }

  runAll(): void {
    while (this.queue.length > 0) this.runOne();
  }
}

/**
 * A virtual clock whose `advanceSync` fires due timers synchronously, in (due, creation)
 * order. Property tests use it under fast-check's scheduler: VirtualClock.advance settles on
 * macrotask turns, during which fast-check would run every other scheduled step first, so
 * time could never move in the middle of an interleaving.
 */
export class StepClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: { due: number; seq: number; fn: () => void }[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(t);
    this.#timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.indexOf(handle as never);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  get pending(): number {
    return this.#timers.length;
  }

  advanceSync(ms: number): void {
    const target = this.#now + ms;
    for (let t = this.#timers[0]; t !== undefined && t.due <= target; t = this.#timers[0]) {
      this.#timers.shift();
      this.#now = t.due;
      t.fn();
    }
    this.#now = target;
  }

  /** Fires timers until none is pending. */
  runAllSync(): void {
    for (let t = this.#timers[0]; t !== undefined; t = this.#timers[0]) this.advanceSync(t.due - this.#now);
  }
}

export interface TestRuntime<C extends Clock = VirtualClock> {
  readonly runtime: Runtime;
  readonly clock: C;
  readonly records: Grant[];
}

/** A runtime on a virtual clock, tracing into `records`, delivering through `scheduler`. */
export function testRuntime(scheduler?: Scheduler): TestRuntime {
  return runtimeOn(new VirtualClock(), scheduler);
}

function runtimeOn<C extends Clock>(clock: C, scheduler?: Scheduler): TestRuntime<C> {
  const records: Grant[] = [];
  // Not annotated: the object must fit the Tracer interface whether or not it has `reads`.
  const tracer = {
    payloads: false,
    reads: false,
    record(kind: string, from?: string, _to?: string, name?: string, _cid?: string, detail?: unknown) {
      records.push({ kind, agent: from, name, detail, at: clock.now() });
    },
  };
  const runtime = createRuntime({ clock, scheduler, tracer: tracer satisfies Tracer });
  return { runtime, clock, records };
}

/** A runtime on a {@link StepClock} whose deliveries are ordered by fast-check's scheduler. */
export function fcTestRuntime(s: fc.Scheduler): TestRuntime<StepClock> {
  return runtimeOn(new StepClock(), {
    deliver(kind: DeliveryKind, fn: () => void, to?: string): void {
      void s.schedule(Promise.resolve(), to === undefined ? kind : `${kind}→${to}`).then(fn);
    },
    pending: 0,
  });
}

/** Tracks whether a promise settled, without awaiting it. */
export function watch<T>(p: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  p.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}
