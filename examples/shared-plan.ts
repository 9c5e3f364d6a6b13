// The flagship demo: several worker instances share one plan in `kv`, and no task is worked
// twice. Two ways of writing shared state, side by side:
//
// - Claiming is read -> decide -> write. A worker reads the plan, takes a moment to choose a
//   task (as an LLM-backed agent would), then writes its claim only if the plan is still at
//   the version it read (`expectedVersion`). If another worker claimed meanwhile, the write is
//   refused with VERSION_CONFLICT and the worker re-reads and chooses again. These conflicts
//   are printed: they are what makes "no task worked twice" true.
// - Completing is one atomic step: `kv.update` runs a recipe on the current plan and commits
//   it with compare-and-swap, retrying by itself, and hands a result back to the caller.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { createSystem, defineAgent, sleep, VersionConflictError } from "../src/index.js";

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
let conflicts = 0;

const worker = defineAgent({
  name: "dev.worker",
  description: "Claims pending plan tasks one at a time and completes them",
  input: z.object({ planId: z.string() }),
  output: z.object({ agentId: z.string(), completed: z.array(z.string()) }),
  handler: async ({ planId }, ctx) => {
    const completed: string[] = [];
    for (;;) {
      // Read, decide, then write at the version read.
      const current = (await ctx.kv.get<Plan>(planId))!;
      const next = current.value.tasks.find((t) => t.status === "pending");
      if (next === undefined) return { agentId: ctx.agentId, completed };
      await sleep(ctx.clock, 1 + Math.floor(ctx.random() * 4)); // choosing takes a moment
      const claimed: Plan = {
        ...current.value,
        tasks: current.value.tasks.map((t) => (t.id === next.id ? { ...t, status: "in-progress", assignedTo: ctx.agentId } : t)),
      };
      try {
        const entry = await ctx.kv.set(planId, claimed, { by: ctx.agentId, expectedVersion: current.version });
        console.log(`  ${ctx.agentId} claimed ${next.id} (plan v${current.version} -> v${entry.version})`);
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        conflicts++;
        console.log(`  ${ctx.agentId} conflict-retried: the plan moved from v${error.expectedVersion} to v${error.actualVersion} while it chose ${next.id}; re-reading`);
        continue;
      }
      worked.set(next.id, [...(worked.get(next.id) ?? []), ctx.agentId]);
      await sleep(ctx.clock, WORK_MS); // the work itself
      // One atomic step, with a result handed back: how many tasks are left.
      const { result: left, version } = await ctx.kv.update<Plan, number>(planId, (plan, out) => {
        plan.tasks.find((t) => t.id === next.id)!.status = "complete";
        out.result = plan.tasks.filter((t) => t.status !== "complete").length;
      }, { by: ctx.agentId, exists: true });
      console.log(`  ${ctx.agentId} completed ${next.id} (v${version}), ${left} left`);
      completed.push(next.id);
    }
  },
});

for (let i = 0; i < WORKERS; i++) await system.addAgent(worker);

const plan: Plan = {
  id: "plan-001",
  tasks: descriptions.map((description, i) => ({ id: `task-${i + 1}`, description, status: "pending", assignedTo: null })),
};
await system.kv.set("plan-001", plan, { by: "planner" });

console.log(`Plan with ${plan.tasks.length} tasks, ${WORKERS} instances of dev.worker, ${WORK_MS} ms of work per task\n`);
const started = performance.now();
// Called by its spec: the input is checked at compile time and the result is typed.
const results = await Promise.all(Array.from({ length: WORKERS }, () => system.call(worker, { planId: "plan-001" })));
const elapsed = performance.now() - started;

const final = (await system.kv.get<Plan>("plan-001"))!.value;
const complete = final.tasks.filter((t) => t.status === "complete").length;
const twice = [...worked].filter(([, agents]) => agents.length > 1);
const ideal = Math.ceil(final.tasks.length / WORKERS) * WORK_MS;

console.log("\nWho did what:");
for (const r of results) console.log(`  ${r.agentId}: ${r.completed.join(", ") || "(nothing)"}`);
console.log(`\nPlan complete: ${Math.round((complete / final.tasks.length) * 100)}%`);
console.log(`Tasks worked twice: ${twice.length}`);
console.log(`Claims refused and retried (version conflicts): ${conflicts}`);
console.log(`Elapsed: ${elapsed.toFixed(0)} ms; ideal parallel time ${ideal} ms; sequential ${final.tasks.length * WORK_MS} ms`);
console.log(`Parallelism: ${elapsed < 2 * ideal ? "yes" : "NO"} (elapsed < 2x ideal)`);

// The whole run as a sequence diagram, in a file: a ```mermaid block renders on GitHub, or
// paste the diagram into https://mermaid.live.
const tracePath = join(tmpdir(), "covey-shared-plan-trace.md");
writeFileSync(tracePath, `# covey shared-plan trace\n\n\`\`\`mermaid\n${system.trace.toMermaid()}\n\`\`\`\n`);
console.log(`Trace: ${system.trace.records.length} records, Mermaid sequence diagram written to ${tracePath}`);
await system.shutdown();

if (complete !== final.tasks.length || twice.length > 0 || elapsed >= 2 * ideal) process.exitCode = 1;
