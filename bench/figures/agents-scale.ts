import { defineAgent, createSystem, type MultiAgentSystem } from "../../src/agents/index.js";
import { atMost, byName, compare, fmtBytes, settledHeap, type CaseResult, type Figure } from "../harness.js";

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

/**
 * Per-call cost as the registry grows: calls rotate over the same 10 agents while 10, 1,000
 * or 100,000 agents are registered. Memory per idle agent is the heap delta of adding them.
 */
export const figure: Figure = {
  name: "agents-scale",
  title: "per-call cost with 10 / 1,000 / 100,000 registered agents",
  async run(profile) {
    const wanted = profile.quick ? [10, 1000, 10_000] : [10, 1000, 100_000];
    // Registering agents must not take the whole run: each registry gets a time budget, and a
    // registry that could not be filled in time is measured at the size it reached.
    const budget = profile.quick ? 5_000 : 60_000;
    const notes: string[] = [];
    const systems: MultiAgentSystem[] = [];
    const sizes: number[] = [];
    let perAgent = NaN;
    for (const size of wanted) {
      const system = createSystem();
      const before = await settledHeap();
      const t0 = performance.now();
      const reached = await populate(system, size, budget);
      const ms = performance.now() - t0;
      const after = await settledHeap();
      perAgent = (after - before) / reached;
      notes.push(
        `${reached === size ? "" : `NOT REACHED: only ${reached} of ${size} agents registered within ${budget / 1000} s; `}adding ${reached} agents took ${ms.toFixed(0)} ms (${((ms * 1000) / reached).toFixed(0)} µs per agent on average); heap +${fmtBytes(after - before)} (${fmtBytes((after - before) / reached)} per agent)`,
      );
      systems.push(system);
      sizes.push(reached);
    }

    const cases: CaseResult[] = await compare(
      sizes.map((size, s) => ({
        name: `${size} agents registered`,
        ops: BATCH,
        fn: async () => {
          const system = systems[s]!;
          for (let i = 0; i < BATCH; i++) await system.call(`agent-${i % CALLED}`, i);
        },
      })),
      profile,
    );
    for (const system of systems) await system.shutdown();
    const base = byName(cases, `${sizes[0]} agents registered`).median;
    const largest = sizes[sizes.length - 1]!;
    const complete = sizes.every((n, i) => n === wanted[i]);
    const worst = Math.max(...cases.map((c) => c.median / base));
    if (profile.quick) notes.push("quick profile: largest registry 10,000 agents");
    const flat = atMost(`per-call cost flat within 1.3x of 10 agents (${wanted.join(" / ")})`, worst, 1.3);
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [
        complete ? flat : { ...flat, met: false, measured: `${flat.measured} up to ${largest} agents; ${wanted[wanted.length - 1]} not reached` },
        atMost(`memory per idle agent <= 2 KB (at ${largest} agents)`, perAgent, 2048, fmtBytes),
      ],
      notes,
    };
  },
};
