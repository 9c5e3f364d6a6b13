import { AsyncLocalStorage } from "node:async_hooks";
import { MultiAgentSystem, storeRuntime } from "../agents/system.js";
import type { CoordinatedAgent } from "../agents/coordinated-agent.js";
import { InMemoryStateStore } from "../state/index.js";
import { ScheduledStateStore } from "./scheduled-store.js";
import { createRandom, deriveSeed, SeededScheduler, type DeliveryFaults } from "./seeded-scheduler.js";
import { VirtualClock } from "./virtual-clock.js";
import { runUntil, type RunUntilOptions } from "./run-until.js";
import { drive, type RunOptions } from "./drive.js";
import { describeWaiting } from "./stuck.js";

/** Faults a test system injects; every choice comes from the seed, so faults replay too. */
export interface TestFaults extends DeliveryFaults {
  /**
   * Agents (by name or agentId) whose handler throws instead of running; with `probability`,
   * each invocation crashes with that chance.
   */
  crash?: string[] | { agents: string[]; probability: number };
}

// One for every test system of the process: each delivery resets it, so systems never see
// each other's agents. Created on first use, since it costs every promise some time.
let scope: AsyncLocalStorage<string | undefined> | undefined;
function readerScope(): AsyncLocalStorage<string | undefined> {
  return (scope ??= new AsyncLocalStorage<string | undefined>());
}

/** Options of {@link createTestSystem}. */
export interface TestSystemOptions {
  /** Seed of the delivery order and of injected faults. @default 1 */
  seed?: number;
  /** Virtual clock start, ms. @default 0 */
  startMs?: number;
  faults?: TestFaults;
  /** Trace bound (same as `trace.limit`). @default 10000 */
  traceLimit?: number;
  /** Keep payloads in trace records (same as `trace.payloads`). @default false */
  tracePayloads?: boolean;
  /**
   * What the trace records: `limit` bounds it (default 10000), `payloads` keeps payloads,
   * `reads` records every state read (kind `read`, with the version read and the agent that
   * read it) besides the writes.
   */
  trace?: { limit?: number; payloads?: boolean; reads?: boolean };
}

/** What {@link createTestSystem} returns. */
export interface TestSystem {
  system: MultiAgentSystem;
  clock: VirtualClock;
  seed: number;
  /**
   * Drives the system until `promise` settles: lets ready deliveries run and advances virtual
   * time one timer at a time, so a handler that sleeps on the clock, a lease or a `{ timeout }`
   * plays out without the test moving the clock by hand.
   *
   * Drives in-process work and virtual time only: a promise waiting on real I/O or a real
   * timer looks stuck to it.
   * @returns what `promise` resolves to; rejects as it rejects.
   * @throws DeadlockError when nothing can make progress (no ready delivery, no pending timer)
   * while `promise` is pending; its `waiting` lists each pending call (caller -> agent, since
   * when), busy agents, and each lock / semaphore / barrier wait with who holds what.
   * @example
   * ```ts
   * const t = createTestSystem();
   * await t.system.addAgent(slowAgent); // sleeps 5 s on the virtual clock
   * expect(await t.run(t.system.call(slowAgent, {}))).toEqual("done");
   * ```
   */
  run<T>(promise: Promise<T>, opts?: RunOptions): Promise<T>;
  /**
   * Steps deliveries and timers until `predicate` holds, or until `promise` settles (like
   * {@link TestSystem.run}, with `maxSteps` defaulting to 10000 for a predicate).
   * @throws DeadlockError when it never holds: nothing is left to run, or `maxSteps` ran out.
   */
  runUntil<T>(promise: Promise<T>, opts?: { maxSteps?: number }): Promise<T>;
  runUntil(predicate: () => boolean | Promise<boolean>, opts?: { maxSteps?: number }): Promise<void>;
  /**
   * A number in [0, 1) drawn from the run's seed: the same seed gives the same sequence. It is
   * the same generator as the agents' `ctx.random()`, separate from the one that orders
   * deliveries, so drawing numbers never changes the interleaving.
   */
  random(): number;
}

/**
 * Creates a system for tests: a virtual clock, tracing on, every payload checked to be JSON
 * data, and deliveries interleaved in a seed-chosen order. Deliveries run by themselves (a
 * test awaits calls as usual); only timers wait for the clock to be advanced. The same seed
 * and scenario give the same trace, byte for byte.
 *
 * @example
 * ```ts
 * const { system, clock } = createTestSystem({ seed: 7 });
 * ```
 */
export function createTestSystem(opts: TestSystemOptions = {}): TestSystem {
  const seed = opts.seed ?? 1;
  const clock = new VirtualClock(opts.startMs ?? 0);
  const faults = opts.faults ?? {};
  const traceOpts = opts.trace ?? {};
  // Which agent's handler is running, for the trace of state reads: each delivery starts
  // outside every agent, and a handler's steps inherit its agent through their async context.
  // Only when reads are traced: async context tracking slows every promise of the process.
  const handling = traceOpts.reads === true ? readerScope() : undefined;
  const scheduler = new SeededScheduler(seed, {
    faults,
    setTimer: (fn, ms) => clock.setTimeout(fn, ms),
    ...(handling !== undefined ? { wrap: (fn: () => void) => handling.run(undefined, fn) } : {}),
  });
  clock.addBusyCheck(() => scheduler.pending > 0);
  // Its own stream, apart from the scheduler's: a handler drawing a number must not change
  // which delivery runs next.
  const random = createRandom(deriveSeed(seed, 0x72616e64));
  const crash = faults.crash;
  let crashes: ((agent: CoordinatedAgent) => boolean) | undefined;
  if (crash !== undefined) {
    const agents = new Set(Array.isArray(crash) ? crash : crash.agents);
    const probability = Array.isArray(crash) ? 1 : crash.probability;
    crashes = (agent) => (agents.has(agent.name) || agents.has(agent.agentId)) && scheduler.random() < probability;
  }
  const beforeHandle = (agent: CoordinatedAgent): void => {
    handling?.enterWith(agent.agentId);
    if (crashes?.(agent) === true) throw new Error(`injected crash of ${agent.agentId}`);
  };
  const system = new MultiAgentSystem({
    clock,
    storeFactory: (runtime) => {
      const rt = storeRuntime(runtime);
      return new ScheduledStateStore(new InMemoryStateStore({ runtime: rt }), runtime.scheduler, {
        tracer: rt.tracer,
        reader: () => handling?.getStore() ?? "system",
      });
    },
    scheduler,
    checkPayloads: true,
    trace: {
      limit: traceOpts.limit ?? opts.traceLimit ?? 10_000,
      payloads: traceOpts.payloads ?? opts.tracePayloads ?? false,
      reads: traceOpts.reads ?? false,
    },
    beforeHandle,
    random,
  });
  const waiting = (): string[] => describeWaiting(system);
  const runUntilOpts = (o: { maxSteps?: number } | undefined): RunUntilOptions =>
    o?.maxSteps !== undefined ? { maxSteps: o.maxSteps, waiting } : { waiting };
  return {
    system,
    clock,
    seed,
    run: (promise, runOpts) => drive(clock, promise, waiting, runOpts),
    runUntil: ((until: Promise<unknown> | (() => boolean | Promise<boolean>), o?: { maxSteps?: number }) =>
      typeof until === "function" ? runUntil(clock, until, runUntilOpts(o)) : runUntil(clock, until, runUntilOpts(o))) as TestSystem["runUntil"],
    random,
  };
}
