import type { MultiAgentSystem } from "../agents/system.js";
import type { Trace } from "../runtime/trace.js";
import { deriveSeed } from "./seeded-scheduler.js";
import { createTestSystem, type TestFaults } from "./test-system.js";
import type { VirtualClock } from "./virtual-clock.js";

/** A test scenario: drives a fresh test system and throws (an assertion) when it fails. */
export type Scenario = (t: { system: MultiAgentSystem; clock: VirtualClock; seed: number }) => Promise<void>;

/** One failing run found by {@link explore}. */
export interface ExploreFailure {
  /** Pass it to {@link replay} to re-run this interleaving exactly. */
  seed: number;
  error: unknown;
  /** The run's trace as a Mermaid sequence diagram. */
  mermaid: string;
}

/** Options of {@link explore} and {@link replay}. */
export interface ExploreOptions {
  /** How many runs, each with a seed derived from `seed`. @default 100 */
  runs?: number;
  /** Base seed. @default 1 */
  seed?: number;
  /** Stop at the first failing run. @default false */
  stopOnFailure?: boolean;
  /** Faults injected in every run (seeded, so they replay). */
  faults?: TestFaults;
}

async function runOnce(scenario: Scenario, seed: number, faults: TestFaults | undefined): Promise<{ error?: unknown; trace: Trace }> {
  const { system, clock } = createTestSystem(faults !== undefined ? { seed, faults } : { seed });
  let error: unknown;
  let failed = false;
  try {
    await scenario({ system, clock, seed });
  } catch (e) {
    failed = true;
    error = e;
  } finally {
    await system.shutdown();
    // Deliveries already scheduled still run (and trace) after shutdown: let them, so the
    // trace returned is final.
    await clock.settle();
  }
  return failed ? { error, trace: system.trace } : { trace: system.trace };
}

/**
 * Runs `scenario` once per derived seed, each in a fresh test system whose deliveries are
 * interleaved in a seed-chosen order, and collects the runs that threw.
 *
 * @example
 * ```ts
 * const { failures } = await explore(async ({ system }) => { ... }, { runs: 200 });
 * expect(failures).toEqual([]);
 * ```
 */
export async function explore(
  scenario: Scenario,
  opts: ExploreOptions = {},
): Promise<{ runs: number; failures: ExploreFailure[] }> {
  const runs = opts.runs ?? 100;
  const base = opts.seed ?? 1;
  const failures: ExploreFailure[] = [];
  let ran = 0;
  for (let i = 0; i < runs; i++) {
    const seed = deriveSeed(base, i);
    const result = await runOnce(scenario, seed, opts.faults);
    ran++;
    if ("error" in result) {
      failures.push({ seed, error: result.error, mermaid: result.trace.toMermaid() });
      if (opts.stopOnFailure === true) break;
    }
  }
  return { runs: ran, failures };
}

/**
 * Re-runs `scenario` with one seed (as reported by {@link explore}); the trace is identical
 * to the explored run's.
 */
export async function replay(scenario: Scenario, seed: number, opts: { faults?: TestFaults } = {}): Promise<{ error?: unknown; trace: Trace }> {
  return runOnce(scenario, seed, opts.faults);
}
