// The flagship demo: several worker instances share one plan in `kv`. Each claims the next
// pending task with `kv.update` (compare-and-swap with retry), works on it, marks it done.
// No task is worked twice, the plan reaches 100%, and the run ends with a Mermaid diagram.
import { z } from "zod";
import { createSystem, defineAgent, sleep } from "../src/index.js";

interface Task {
  id: string;
  description: string;
  status: "pending" | "in-progress" | "complete";
  assignedTo: string | null;
}
interface Plan {
  id: string;
  tasks: Task[];
}

const WORKERS = 4;
const WORK_MS = 100;
const descriptions = [
  "Analyze requirements",
  "Design API surface",
  "Write test cases",
  "Implement core module",
  "Write the docs",
  "Benchmark the hot path",
  "Review and refactor",
  "Cut the release",
];

const system = createSystem({ trace: true });
const worked = new Map<string, string[]>();

const worker = defineAgent({
  name: "dev.worker",
  description: "Claims pending plan tasks one at a time and completes them",
  input: z.object({ planId: z.string() }),
  output: z.object({ agentId: z.string(), completed: z.array(z.string()) }),
  handler: async ({ planId }, ctx) => {
    const completed: string[] = [];
    const shared = ctx.state.namespace("shared");
    for (;;) {
      const current = await shared.get<Plan>(planId);
      if (!current?.value.tasks.some((t) => t.status === "pending")) return { agentId: ctx.agentId, completed };
      let claimed: string | undefined;
      // The recipe may run more than once: on a conflict it is re-run on the fresh plan.
      await shared.update<Plan>(planId, (plan) => {
        claimed = undefined;
        const next = plan?.tasks.find((t) => t.status === "pending");
        if (next === undefined) return;
        next.status = "in-progress";
        next.assignedTo = ctx.agentId;
        claimed = next.id;
      }, { by: ctx.agentId });
      if (claimed === undefined) continue; // another worker took the last one meanwhile
      const taskId = claimed;
      worked.set(taskId, [...(worked.get(taskId) ?? []), ctx.agentId]);
      await sleep(ctx.clock, WORK_MS); // the work itself
      await shared.update<Plan>(planId, (plan) => {
        const task = plan!.tasks.find((t) => t.id === taskId)!;
        task.status = "complete";
      }, { by: ctx.agentId });
      completed.push(taskId);
    }
  },
});

for (let i = 0; i < WORKERS; i++) await system.addAgent(worker);

const plan: Plan = {
  id: "plan-001",
  tasks: descriptions.map((description, i) => ({ id: `task-${i + 1}`, description, status: "pending", assignedTo: null })),
};
await system.kv.set("plan-001", plan, { by: "planner" });

const stopWatching = system.kv.watch("plan-001", (change) => {
  const tasks = (change.entry?.value as Plan | undefined)?.tasks ?? [];
  const done = tasks.filter((t) => t.status === "complete").length;
  console.log(`  v${change.entry?.version} by ${change.entry?.updatedBy}: ${done}/${tasks.length} complete`);
});

console.log(`Plan with ${plan.tasks.length} tasks, ${WORKERS} worker instances, ${WORK_MS} ms of work per task`);
const started = performance.now();
const results = await Promise.all(Array.from({ length: WORKERS }, () => system.call("dev.worker", { planId: "plan-001" })));
const elapsed = performance.now() - started;
stopWatching();

const final = (await system.kv.get<Plan>("plan-001"))!.value;
const complete = final.tasks.filter((t) => t.status === "complete").length;
const twice = [...worked].filter(([, agents]) => agents.length > 1);
const ideal = Math.ceil(final.tasks.length / WORKERS) * WORK_MS;

console.log("\nWho did what:");
for (const r of results as { agentId: string; completed: string[] }[]) console.log(`  ${r.agentId}: ${r.completed.join(", ") || "(nothing)"}`);
console.log(`\nPlan complete: ${Math.round((complete / final.tasks.length) * 100)}%`);
console.log(`Tasks worked twice: ${twice.length}`);
console.log(`Elapsed: ${elapsed.toFixed(0)} ms; ideal parallel time ${ideal} ms; sequential ${final.tasks.length * WORK_MS} ms`);
console.log(`Parallelism: ${elapsed < 2 * ideal ? "yes" : "NO"} (elapsed < 2x ideal)`);

console.log("\nTrace (Mermaid):\n");
console.log(system.trace.toMermaid({ limit: 60 }));
await system.shutdown();

if (complete !== final.tasks.length || twice.length > 0 || elapsed >= 2 * ideal) process.exitCode = 1;
