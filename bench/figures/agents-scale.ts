import { defineAgent, createSystem, type MultiAgentSystem } from "../../src/agents/index.js";
import { atMost, compare, fmtBytes, settledHeap, type CheckResult, type Figure, type Profile } from "../harness.js";

const BATCH = 1000;
const CALLED = 10;

/** Adds agents until `count` are registered or `budgetMs` has passed; returns how many were added. */
async function populate(system: MultiAgentSystem, count: number, budgetMs: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await system.addAgent(defineAgent({ name: `agent-${i}`, handler: (n: number) => n }));
    if ((i & 63) === 63 && performance.now() - start > budgetMs) return i + 1;
  }
  return count;
}

interface Registry {
  readonly label: string;
  readonly system: MultiAgentSystem;
  readonly size: number;
}

/**
 * Builds one system per wanted size (each within `budget` ms) and returns them with notes on
 * how long registration took and what it cost in heap, per agent.
 */
async function build(
  label: string,
  wanted: readonly number[],
  budget: number,
  make: () => MultiAgentSystem,
): Promise<{ registries: Registry[]; perAgent: number; notes: string[] }> {
  const registries: Registry[] = [];
  const notes: string[] = [];
  let perAgent = NaN;
  for (const size of wanted) {
    const system = make();
    const before = await settledHeap();
    const t0 = performance.now();
    const reached = await populate(system, size, budget);
    const ms = performance.now() - t0;
    const after = await settledHeap();
    perAgent = (after - before) / reached;
    notes.push(
      `${label}: ${reached === size ? "" : `NOT REACHED: only ${reached} of ${size} agents registered within ${budget / 1000} s; `}adding ${reached} agents took ${ms.toFixed(0)} ms (${((ms * 1000) / reached).toFixed(0)} µs per agent on average); heap +${fmtBytes(after - before)} (${fmtBytes((after - before) / reached)} per agent)`,
    );
    registries.push({ label, system, size: reached });
  }
  return { registries, perAgent, notes };
}

function caseName(r: Registry): string {
  return `${r.label}, ${r.size} agents`;
}

async function measure(
  label: string,
  wanted: readonly number[],
  built: { registries: Registry[]; perAgent: number },
  profile: Profile,
): Promise<{ cases: Awaited<ReturnType<typeof compare>>; checks: CheckResult[] }> {
  const cases = await compare(
    built.registries.map((r) => ({
      name: caseName(r),
      ops: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await r.system.call(`agent-${i % CALLED}`, i);
      },
    })),
    profile,
  );
  const base = cases[0]!.median;
  const worst = Math.max(...cases.map((c) => c.median / base));
  const sizes = built.registries.map((r) => r.size);
  const largest = sizes[sizes.length - 1]!;
  const complete = sizes.every((n, i) => n === wanted[i]);
  const flat = atMost(`${label}: per-call cost flat within 1.3x of 10 agents (${wanted.join(" / ")})`, worst, 1.3);
  return {
    cases,
    checks: [
      complete ? flat : { ...flat, met: false, measured: `${flat.measured} up to ${largest} agents; ${wanted[wanted.length - 1]} not reached` },
      atMost(`${label}: memory per idle agent <= 2 KB (at ${largest} agents)`, built.perAgent, 2048, fmtBytes),
    ],
  };
}

/**
 * Per-call cost as the registry grows: calls rotate over the same 10 agents while 10, 1,000
 * or 100,000 agents are registered. Memory per idle agent is the heap delta of adding them.
 * Measured for a default system (which keeps the textbook's `active_agents` list in the kv)
 * and for one created with `trackActiveAgents: false`.
 */
export const figure: Figure = {
  name: "agents-scale",
  title: "per-call cost with 10 / 1,000 / 100,000 registered agents",
  async run(profile) {
    const wanted = profile.quick ? [10, 1000, 10_000] : [10, 1000, 100_000];
    // Registering agents must not take the whole run: each registry gets a time budget, and a
    // registry that could not be filled in time is measured at the size it reached.
    const budget = profile.quick ? 4_000 : 45_000;
    const DEFAULT = "default system";
    const UNTRACKED = "trackActiveAgents: false";

    const tracked = await build(DEFAULT, wanted, budget, () => createSystem());
    const a = await measure(DEFAULT, wanted, tracked, profile);
    for (const r of tracked.registries) await r.system.shutdown();
    tracked.registries.length = 0; // let the first registries go before building the next ones

    const untracked = await build(UNTRACKED, wanted, budget, () => createSystem({ trackActiveAgents: false }));
    const b = await measure(UNTRACKED, wanted, untracked, profile);
    for (const r of untracked.registries) await r.system.shutdown();
    untracked.registries.length = 0;

    const notes = [...tracked.notes, ...untracked.notes];
    if (profile.quick) notes.push("quick profile: largest registry 10,000 agents");
    return { name: this.name, title: this.title, cases: [...a.cases, ...b.cases], checks: [...a.checks, ...b.checks], notes };
  },
};
