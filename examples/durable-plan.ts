// The shared plan on a file: kill the process at any moment, start it again, and it carries on
// from where it stopped. Completed tasks stay completed, and no task is completed twice.
//
//   npx tsx examples/durable-plan.ts --stop-after 3   # dies by SIGKILL after 3 completions
//   npx tsx examples/durable-plan.ts                  # a new run resumes the plan
//   npx tsx examples/durable-plan.ts --reset          # start a new plan
//
// The store is covey/sqlite: every write is on disk before it is acknowledged, so whatever a
// worker was told is done survives the kill. A task that was in progress when the process died
// belongs to a worker that is gone: each run has a number, kept in the store, and a claim made
// by an earlier run is handed back to pending when a new run starts.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { sqliteStore } from "../src/backends/sqlite/index.js";
import { createSystem, defineAgent, sleep } from "../src/index.js";

interface Task {
  id: string;
  description: string;
  status: "pending" | "in-progress" | "complete";
  assignedTo: string | null;
  /** The run whose worker claimed it. */
  run: number | null;
  /** How many times it was completed: 1 once done, and never more. */
  completions: number;
  completedIn: number | null;
}
interface Plan {
  id: string;
  tasks: Task[];
}

const WORKERS = 3;
const WORK_MS = 60;
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

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : (args[at + 1] ?? "");
};
const file = flag("--file") ?? join(tmpdir(), "covey-durable-plan.db");
const stopAfter = flag("--stop-after") === undefined ? Infinity : Number(flag("--stop-after"));
if (args.includes("--reset")) for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });

const store = await sqliteStore(file);
const system = createSystem({ store });
const kv = system.kv;

// This run's number: one more than the last run's, durably.
const { value: run } = await kv.update<number>("run", (n) => (n ?? 0) + 1, { by: "launcher" });
let plan = (await kv.get<Plan>("plan-001"))?.value;
if (plan === undefined) {
  const tasks = descriptions.map((description, i): Task => ({
    id: `task-${i + 1}`, description, status: "pending", assignedTo: null, run: null, completions: 0, completedIn: null,
  }));
  await kv.set<Plan>("plan-001", { id: "plan-001", tasks }, { by: "planner" });
  console.log(`Run ${run} on ${file}: new plan with ${tasks.length} tasks, ${WORKERS} workers`);
} else {
  const done = plan.tasks.filter((t) => t.status === "complete").length;
  console.log(`Run ${run} on ${file}: plan found, ${done} of ${plan.tasks.length} tasks already complete`);
  // Claims of earlier runs: their workers died with their process.
  const { result: reclaimed } = await kv.update<Plan, string[]>("plan-001", (p, out) => {
    out.result = [];
    for (const t of p.tasks) {
      if (t.status === "in-progress" && t.run !== run) {
        out.result.push(`${t.id} (claimed by ${t.assignedTo ?? "?"} in run ${t.run ?? "?"})`);
        Object.assign(t, { status: "pending", assignedTo: null, run: null });
      }
    }
  }, { by: "launcher", exists: true });
  for (const r of reclaimed ?? []) console.log(`  reclaimed ${r}: its worker is gone`);
}

let completedThisRun = 0;

const worker = defineAgent({
  name: "dev.worker",
  input: z.object({ planId: z.string() }),
  output: z.object({ completed: z.array(z.string()) }),
  handler: async ({ planId }, ctx) => {
    const completed: string[] = [];
    for (;;) {
      // Claim one: an atomic update that hands back which task it took.
      const { result: id } = await ctx.kv.update<Plan, string>(planId, (p, out) => {
        const t = p.tasks.find((x) => x.status === "pending");
        if (t === undefined) return;
        Object.assign(t, { status: "in-progress", assignedTo: ctx.agentId, run });
        out.result = t.id;
      }, { by: ctx.agentId, exists: true });
      if (id === undefined) return { completed };
      console.log(`  ${ctx.agentId} claimed ${id}`);
      await sleep(ctx.clock, WORK_MS + 30 * (Number(id.slice(5)) % 3)); // the work itself, of uneven length
      const { result: left } = await ctx.kv.update<Plan, number>(planId, (p, out) => {
        const t = p.tasks.find((x) => x.id === id)!;
        // Only the claim of this run and worker may complete it: never twice.
        if (t.status !== "in-progress" || t.assignedTo !== ctx.agentId || t.run !== run) throw new Error(`${id} is no longer ours`);
        Object.assign(t, { status: "complete", completions: t.completions + 1, completedIn: run });
        out.result = p.tasks.filter((x) => x.status !== "complete").length;
      }, { by: ctx.agentId, exists: true });
      completed.push(id);
      console.log(`  ${ctx.agentId} completed ${id}, ${left} left`);
      if (++completedThisRun >= stopAfter) {
        console.log(`Stopping hard after ${completedThisRun} completions (SIGKILL, no cleanup)`);
        process.kill(process.pid, "SIGKILL");
      }
    }
  },
});

for (let i = 0; i < WORKERS; i++) await system.addAgent(worker);
await Promise.all(Array.from({ length: WORKERS }, () => system.call(worker, { planId: "plan-001" })));

plan = (await kv.get<Plan>("plan-001"))!.value;
const complete = plan.tasks.filter((t) => t.status === "complete");
const kept = complete.filter((t) => t.completedIn !== run).length;
const twice = plan.tasks.filter((t) => t.completions > 1).length;
console.log(`\nPlan complete: ${Math.round((complete.length / plan.tasks.length) * 100)}%`);
console.log(`Completed in this run: ${complete.length - kept}; kept from earlier runs: ${kept}`);
console.log(`Tasks completed twice: ${twice}`);
await system.shutdown();
await store.close();
if (complete.length !== plan.tasks.length || twice > 0) process.exitCode = 1;
