import { defineAgent, createSystem, type MultiAgentSystem } from "../../src/agents/index.js";
import { atMost, byName, compare, fmtBytes, settledHeap, type CaseResult, type Figure } from "../harness.js";

const BATCH = 1000;
const CALLED = 10;

async function populate(system: MultiAgentSystem, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await system.addAgent(defineAgent({ name: `agent-${i}`, handler: (n: number) => n }));
  }
}

/**
 * Per-call cost as the registry grows: calls rotate over the same 10 agents while 10, 1,000
 * or 100,000 agents are registered. Memory per idle agent is the heap delta of adding them.
 */
export const figure: Figure = {
  name: "agents-scale",
  title: "per-call cost with 10 / 1,000 / 100,000 registered agents",
  async run(profile) {
    const sizes = profile.quick ? [10, 1000, 10_000] : [10, 1000, 100_000];
    const notes: string[] = [];
    const systems: MultiAgentSystem[] = [];
    let perAgent = NaN;
    for (const size of sizes) {
      const system = createSystem();
      const before = await settledHeap();
      const t0 = performance.now();
      await populate(system, size);
      const ms = performance.now() - t0;
      const after = await settledHeap();
      if (size === sizes[sizes.length - 1]) perAgent = (after - before) / size;
      notes.push(`adding ${size} agents took ${ms.toFixed(0)} ms; heap +${fmtBytes(after - before)} (${fmtBytes((after - before) / size)} per agent)`);
      systems.push(system);
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
    const worst = Math.max(...cases.map((c) => c.median / base));
    if (profile.quick) notes.push("quick profile: largest registry 10,000 agents");
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [
        atMost(`per-call cost flat within 1.3x of 10 agents (worst of ${sizes.join(" / ")})`, worst, 1.3),
        atMost(`memory per idle agent <= 2 KB (at ${largest} agents)`, perAgent, 2048, fmtBytes),
      ],
      notes,
    };
  },
};
