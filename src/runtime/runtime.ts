import { systemClock, type Clock } from "./clock.js";
import { IdGenerator } from "./ids.js";
import { immediateScheduler, type Scheduler } from "./scheduler.js";
import { TimerQueue } from "./timer-queue.js";
import type { Tracer } from "./trace.js";

/**
 * The services one system's components share: its clock, its single deadline queue, the
 * scheduler every delivery goes through, per-system id counters, and the tracer (if any).
 * @internal
 */
export interface Runtime {
  readonly clock: Clock;
  readonly timers: TimerQueue;
  readonly scheduler: Scheduler;
  readonly ids: IdGenerator;
  /** Undefined when tracing is off. */
  readonly tracer: Tracer | undefined;
  /** When true (test systems), every payload is checked to be JSON data. */
  readonly checkPayloads: boolean;
  /** Numbers in [0, 1) for `ctx.random()`: seeded in test systems, `Math.random` otherwise. */
  readonly random: () => number;
}

/** Options every component accepts: a clock, or a whole runtime shared with its system. */
export interface RuntimeOptions {
  clock?: Clock;
  /** @internal shared services of a system; components create their own when absent. */
  runtime?: Runtime;
}

/** @internal */
export function createRuntime(opts: {
  clock?: Clock | undefined;
  scheduler?: Scheduler | undefined;
  tracer?: Tracer | undefined;
  checkPayloads?: boolean | undefined;
  random?: (() => number) | undefined;
  /** Put before every id (a backend shared across processes gives a per-process one). */
  idPrefix?: string | undefined;
} = {}): Runtime {
  const clock = opts.clock ?? systemClock;
  return {
    clock,
    timers: new TimerQueue(clock),
    scheduler: opts.scheduler ?? immediateScheduler,
    ids: new IdGenerator(opts.idPrefix),
    tracer: opts.tracer,
    checkPayloads: opts.checkPayloads ?? false,
    random: opts.random ?? Math.random,
  };
}

/** The runtime given in `opts`, or a fresh one on `opts.clock`. @internal */
export function resolveRuntime(opts: RuntimeOptions | undefined): Runtime {
  return opts?.runtime ?? createRuntime({ clock: opts?.clock });
}
