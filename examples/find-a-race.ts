// Finding a race with seeded exploration. A naive worker reads the plan, then writes its
// claim (no compare-and-swap): two workers can claim the same task. `explore` runs the
// scenario under many delivery orders, finds a double claim, and `replay` reproduces it
// exactly. With `trace: { reads: true }` the diagram shows the lost update: both workers
// read the same version (`get plan → v3`), and the second write replaces the first one's
// version, not the one its writer read. The same worker written with `kv.update` survives
// 1,000 runs.
import { defineAgent, type MultiAgentSystem } from "../src/index.js";
import { diffTraces, explore, replay, type Scenario } from "../src/testing/index.js";

type Plan = Record<string, string | null>; // task id -> claimed by

const naiveWorker = defineAgent({
  name: "worker",
  concurrency: 1,
  handler: async (_: unknown, ctx) => {
    const shared = ctx.state.namespace("shared");
    const plan = (await shared.get<Plan>("plan"))!.value;
    const task = Object.keys(plan).find((id) => plan[id] === null);
    if (task === undefined) return null;
    await shared.set("plan", { ...plan, [task]: ctx.agentId }, { by: ctx.agentId }); // read-then-write: racy
    return task;
  },
});

const casWorker = defineAgent({
  name: "worker",
  handler: async (_: unknown, ctx) => {
    let task: string | undefined;
    await ctx.state.namespace("shared").update<Plan>("plan", (plan) => {
      task = Object.keys(plan!).find((id) => plan![id] === null);
      if (task !== undefined) plan![task] = ctx.agentId;
    }, { by: ctx.agentId });
    return task ?? null;
  },
});

function claimScenario(worker: typeof naiveWorker): Scenario {
  return async ({ system }: { system: MultiAgentSystem }) => {
    await system.addAgent(worker);
    await system.addAgent(worker);
    await system.kv.set("plan", { a: null, b: null });
    const claims = await Promise.all([system.call<string | null>("worker", {}), system.call<string | null>("worker", {})]);
    const claimed = claims.filter((c) => c !== null);
    if (new Set(claimed).size !== claimed.length) throw new Error(`double claim: both workers took ${claimed[0]}`);
  };
}

const trace = { reads: true };
const naive = await explore(claimScenario(naiveWorker), { runs: 200, seed: 1, trace });
console.log(`naive worker: ${naive.failures.length} of ${naive.runs} runs failed`);
const first = naive.failures[0];
if (first === undefined) {
  console.log("no race found (unexpected)");
  process.exit(1);
}
console.log(`first failing seed: ${first.seed}: ${(first.error as Error).message}`);
console.log("\n" + first.mermaid);

// The failure record carries everything the run needs (its seed, and its faults if any).
const again = await replay(claimScenario(naiveWorker), first, { trace });
const again2 = await replay(claimScenario(naiveWorker), first, { trace });
console.log("the same run, only the plan's reads and writes:\n");
console.log(again.trace.toMermaid({ keyPrefix: "plan", kinds: ["read", "state"] }));
console.log(`replay of seed ${first.seed}: ${(again.error as Error | undefined)?.message ?? "passed"}; traces identical: ${diffTraces(again.trace, again2.trace) === undefined}`);

const safe = await explore(claimScenario(casWorker), { runs: 1000, seed: 1 });
console.log(`kv.update worker: ${safe.failures.length} of ${safe.runs} runs failed`);
if (safe.failures.length > 0 || again.error === undefined) process.exitCode = 1;
