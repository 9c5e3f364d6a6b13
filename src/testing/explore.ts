import type { Trace } from "../runtime/trace.js";
import { deriveSeed } from "./seeded-scheduler.js";
import { createTestSystem, type TestFaults, type TestSystem, type TestSystemOptions } from "./test-system.js";

/**
 * A test scenario: drives a fresh test system and throws (an assertion) when it fails. It
 * gets the whole test system (`system`, `clock`, `seed`, `run`, `runUntil`, `random`); the
 * run drives virtual time by itself, so a scenario need not advance the clock.
 */
export type Scenario = (t: TestSystem) => Promise<void>;

/** One failing run found by {@link explore}. */
export interface ExploreFailure {
  /** Pass it to {@link replay} to re-run this interleaving exactly. */
  seed: number;
  error: unknown;
  /** The run's trace as a Mermaid sequence diagram. */
  mermaid: string;
  /** The faults injected in the run (absent when none were): `replay(scenario, failure)` uses them. */
  faults?: TestFaults;
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
  /** What each run's trace records, e.g. `{ reads: true }` to see state reads with their versions. */
  trace?: TestSystemOptions["trace"];
}

async function runOnce(
  scenario: Scenario,
  seed: number,
  faults: TestFaults | undefined,
  trace: TestSystemOptions["trace"] | undefined,
): Promise<{ error?: unknown; trace: Trace }> {
  const opts: TestSystemOptions = { seed };
  if (faults !== undefined) opts.faults = faults;
  if (trace !== undefined) opts.trace = trace;
  const t = createTestSystem(opts);
  const { system, clock } = t;
  let error: unknown;
  let failed = false;
  try {
    // Driven: a delayed delivery, a sleep or a timeout plays out on virtual time, and a run
    // that can no longer progress ends with a DeadlockError instead of hanging.
    await t.run((async () => scenario(t))());
  } catch (e) {
    failed = true;
    error = e;
  } finally {
    // Driven too: stopping agents emits events, which a delay fault may hold on the clock.
    await t.run(system.shutdown()).catch(() => undefined);
    // Deliveries already scheduled (delayed ones included) still run and trace after
    // shutdown: let them, so the trace returned is final.
    await clock.runAll({ maxTimers: 10_000 }).catch(() => undefined);
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
    const result = await runOnce(scenario, seed, opts.faults, opts.trace);
    ran++;
    if ("error" in result) {
      const failure: ExploreFailure = { seed, error: result.error, mermaid: result.trace.toMermaid() };
      if (opts.faults !== undefined) failure.faults = opts.faults;
      failures.push(failure);
      if (opts.stopOnFailure === true) break;
    }
  }
  return { runs: ran, failures };
}

/**
 * Re-runs one explored run exactly: give it the failure record {@link explore} reported (its
 * seed and faults), or a seed (and the same `faults` as the exploration). The trace is
 * identical to the explored run's.
 *
 * @example
 * ```ts
 * const { failures } = await explore(scenario, { faults: { delay: { min: 0, max: 20 } } });
 * const { trace } = await replay(scenario, failures[0]);
 * ```
 */
export async function replay(
  scenario: Scenario,
  run: number | Pick<ExploreFailure, "seed" | "faults">,
  opts: { faults?: TestFaults; trace?: TestSystemOptions["trace"] } = {},
): Promise<{ error?: unknown; trace: Trace }> {
  if (typeof run === "number") return runOnce(scenario, run, opts.faults, opts.trace);
  return runOnce(scenario, run.seed, opts.faults ?? run.faults, opts.trace);
}
