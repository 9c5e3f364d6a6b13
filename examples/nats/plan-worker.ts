// One worker process of the shared plan (see shared-plan.ts). It joins the mesh, offers a
// `dev.worker` instance (so the planner sees it in the catalog), waits for "plan.start", then
// claims pending tasks of the shared plan until none is left. Claiming is one atomic kv.update
// (compare-and-swap on the KV revision, retried on conflict), so no task is claimed twice,
// whichever process gets there first.
import { createSystem, defineAgent } from "../../src/index.js";
import { natsBackend } from "../../src/backends/nats/index.js";
import type { Plan } from "./plan-types.js";

const servers = process.env["NATS_URL"] ?? "nats://127.0.0.1:4222";
const mesh = process.env["COVEY_MESH"] ?? "demo";
const WORK_MS = Number(process.env["WORK_MS"] ?? 250);

const backend = await natsBackend({ servers, mesh });
const system = createSystem({ backend });
const me = backend.processId;

let start!: (planId: string) => void;
const planReady = new Promise<string>((resolve) => (start = resolve));
system.communication.pubSub.subscribe("plan.start", (m) => start((m.payload as { planId: string }).planId));
await system.addAgent(defineAgent({ name: "dev.worker", description: "Claims and completes tasks of a shared plan", capabilities: ["plan"], handler: () => ({ process: me }) }));
console.log(`[worker ${me}] ready`);

const planId = await planReady;
const done: string[] = [];
for (;;) {
  const { result: taskId } = await system.kv.update<Plan, string>(
    planId,
    (plan, out) => {
      const task = plan.tasks.find((t) => t.status === "pending");
      if (task === undefined) return; // nothing left: the plan is not written
      task.status = "in-progress";
      task.assignedTo = me;
      task.workedBy.push(me);
      out.result = task.id;
    },
    { by: me, exists: true, maxRetries: 100 },
  );
  if (taskId === undefined) break;
  console.log(`[worker ${me}] claimed ${taskId}`);
  await new Promise((resolve) => setTimeout(resolve, WORK_MS)); // the work itself
  await system.kv.update<Plan>(planId, (plan) => void (plan.tasks.find((t) => t.id === taskId)!.status = "complete"), { by: me, exists: true, maxRetries: 100 });
  done.push(taskId);
}
console.log(`[worker ${me}] finished ${done.length} task(s): ${done.join(", ") || "-"}`);
await system.shutdown();
