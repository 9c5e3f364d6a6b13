import { MultiAgentSystem, storeRuntime } from "../agents/system.js";
import type { CoordinatedAgent } from "../agents/coordinated-agent.js";
import { InMemoryStateStore } from "../state/index.js";
import { ScheduledStateStore } from "./scheduled-store.js";
import { SeededScheduler, type DeliveryFaults } from "./seeded-scheduler.js";
import { VirtualClock } from "./virtual-clock.js";
import { runUntil } from "./run-until.js";

/** Faults a test system injects; every choice comes from the seed, so faults replay too. */
export interface TestFaults extends DeliveryFaults {
  /**
   * Agents (by name or agentId) whose handler throws instead of running; with `probability`,
   * each invocation crashes with that chance.
   */
  crash?: string[] | { agents: string[]; probability: number };
}

/** Options of {@link createTestSystem}. */
export interface TestSystemOptions {
  /** Seed of the delivery order and of injected faults. @default 1 */
  seed?: number;
  /** Virtual clock start, ms. @default 0 */
  startMs?: number;
  faults?: TestFaults;
  /** Trace bound. @default 10000 */
  traceLimit?: number;
  /** Keep payloads in trace records. @default false */
  tracePayloads?: boolean;
}

/** What {@link createTestSystem} returns. */
export interface TestSystem {
  system: MultiAgentSystem;
  clock: VirtualClock;
  seed: number;
  /**
   * Steps deliveries and timers until `predicate` holds.
   * @throws Error when it never holds: nothing is left to run, or `maxSteps` ran out.
   */
  runUntil(predicate: () => boolean | Promise<boolean>, opts?: { maxSteps?: number }): Promise<void>;
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
  const scheduler = new SeededScheduler(seed, {
    faults,
    setTimer: (fn, ms) => clock.setTimeout(fn, ms),
  });
  clock.addBusyCheck(() => scheduler.pending > 0);
  const crash = faults.crash;
  let beforeHandle: ((agent: CoordinatedAgent) => void) | undefined;
  if (crash !== undefined) {
    const agents = new Set(Array.isArray(crash) ? crash : crash.agents);
    const probability = Array.isArray(crash) ? 1 : crash.probability;
    beforeHandle = (agent) => {
      if ((agents.has(agent.name) || agents.has(agent.agentId)) && scheduler.random() < probability) {
        throw new Error(`injected crash of ${agent.agentId}`);
      }
    };
  }
  const system = new MultiAgentSystem({
    clock,
    storeFactory: (runtime) => new ScheduledStateStore(new InMemoryStateStore({ runtime: storeRuntime(runtime) }), runtime.scheduler),
    scheduler,
    checkPayloads: true,
    trace: { limit: opts.traceLimit ?? 10_000, payloads: opts.tracePayloads ?? false },
    ...(beforeHandle !== undefined ? { beforeHandle } : {}),
  });
  return {
    system,
    clock,
    seed,
    runUntil: (predicate, runOpts) => runUntil(clock, predicate, runOpts),
  };
}
