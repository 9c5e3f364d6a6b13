// The planner process of the shared plan (see shared-plan.ts): waits for the worker
// processes in the catalog, writes the plan, starts them, and watches the plan until every
// task is complete. Exit code 1 if the plan is incomplete, a task was worked twice, or the
// elapsed time shows no parallelism.
import { createSystem } from "../../src/index.js";
import { natsBackend } from "../../src/backends/nats/index.js";
import type { Plan } from "./plan-types.js";

const servers = process.env["NATS_URL"] ?? "nats://127.0.0.1:4222";
const mesh = process.env["COVEY_MESH"] ?? "demo";
const WORKERS = Number(process.env["WORKERS"] ?? 3);
const WORK_MS = Number(process.env["WORK_MS"] ?? 250);
const descriptions = ["Analyze requirements", "Design API surface", "Write test cases", "Implement core module", "Write the docs", "Benchmark the hot path", "Review and refactor", "Fix what review found", "Cut the release"];

const system = createSystem({ backend: await natsBackend({ servers, mesh }) });
for (const deadline = Date.now() + 20_000; ; ) {
  const instances = system.catalog().find((e) => e.name === "dev.worker")?.instances ?? 0;
  if (instances >= WORKERS) break;
  if (Date.now() > deadline) throw new Error(`only ${instances} of ${WORKERS} dev.worker instances joined mesh "${mesh}"`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
console.log(`[planner] catalog: dev.worker (${system.catalog().find((e) => e.name === "dev.worker")!.instances} instances, one per worker process)`);

const planId = `plan-${Date.now()}`;
const plan: Plan = { id: planId, tasks: descriptions.map((description, i) => ({ id: `task-${i + 1}`, description, status: "pending", assignedTo: null, workedBy: [] })) };
await system.kv.set(planId, plan, { by: "planner" });

// Watch the plan from its current value on: resolves when every task is complete.
let finished!: (plan: Plan) => void;
const complete = new Promise<Plan>((resolve) => (finished = resolve));
const stop = system.kv.watch(planId, (change) => {
  const p = change.entry?.value as Plan | undefined;
  if (p !== undefined && p.tasks.every((t) => t.status === "complete")) finished(p);
}, { includeCurrent: true });

const started = performance.now();
await system.communication.pubSub.publish("planner", "plan.start", { planId });
const final = await complete;
const elapsed = performance.now() - started;
stop();

const processes = new Set(final.tasks.map((t) => t.assignedTo));
const twice = final.tasks.filter((t) => t.workedBy.length > 1);
const ideal = Math.ceil(final.tasks.length / WORKERS) * WORK_MS;
console.log("[planner] who did what:");
for (const t of final.tasks) console.log(`  ${t.id} ${t.description}: ${t.assignedTo ?? "-"}`);
console.log(`Plan complete: ${Math.round((final.tasks.filter((t) => t.status === "complete").length / final.tasks.length) * 100)}%`);
console.log(`Tasks worked twice: ${twice.length}`);
console.log(`Worker processes that took part: ${processes.size}`);
console.log(`Elapsed: ${elapsed.toFixed(0)} ms; ideal parallel time ${ideal} ms; sequential ${final.tasks.length * WORK_MS} ms`);
console.log(`Parallelism: ${elapsed < 2 * ideal ? "yes" : "NO"} (elapsed < 2x ideal)`);
await system.shutdown();
if (twice.length > 0 || elapsed >= 2 * ideal) process.exitCode = 1;
