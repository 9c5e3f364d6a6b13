import PQueue from "p-queue";
import { defineAgent, createSystem } from "../../src/agents/index.js";
import { atMost, compare, ratio, type Figure } from "../harness.js";

const AGENTS = 8;

/** 100k tasks through the mailboxes of 8 agents, versus p-queue (concurrency 8) alone. */
export const figure: Figure = {
  name: "tasks",
  title: "submitTask through mailboxes, 100k tasks, 8 agents",
  async run(profile) {
    const tasks = profile.quick ? 20_000 : 100_000;
    const system = createSystem();
    const work = (n: number): number => n * 2;
    const spec = defineAgent({ name: "worker", capabilities: ["work"], handler: (n: number) => work(n) });
    for (let i = 0; i < AGENTS; i++) await system.addAgent(spec);
    const queue = new PQueue({ concurrency: AGENTS });
    const results = new Array<Promise<unknown>>(tasks);

    const first = await system.submitTask({ type: "work", payload: 21 });
    if (first !== 42) throw new Error(`submitTask returned ${JSON.stringify(first)}, expected the handler's result 42`);

    const cases = await compare(
      [
        {
          name: `covey submitTask × ${tasks / 1000}k`,
          ops: tasks,
          fn: async () => {
            for (let i = 0; i < tasks; i++) results[i] = system.submitTask({ type: "work", payload: i });
            await Promise.all(results);
          },
        },
        {
          name: `p-queue(8) add × ${tasks / 1000}k`,
          ops: tasks,
          fn: async () => {
            for (let i = 0; i < tasks; i++) results[i] = queue.add(async () => work(i));
            await Promise.all(results);
          },
        },
      ],
      // A sample is a whole batch of tasks (seconds on this machine): few samples, one warm-up.
      { ...profile, rounds: profile.quick ? 1 : 3, iterations: 2, time: 1, warmupTime: 1, warmupIterations: 1 },
    );
    await system.shutdown();
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [atMost("ratio to p-queue alone <= 1.5", ratio(cases, cases[0]!.name, cases[1]!.name), 1.5)],
      notes: profile.quick ? ["quick profile: 20k tasks per sample"] : [],
    };
  },
};
