// Planner and worker: the planner creates a project's tasks, stores shared context in a
// task-scoped namespace and signals the worker with a message; the worker waits for the
// signal, claims the tasks in order with a leased lock, writes progress and marks them done.
import { createSystem, defineAgent } from "../src/index.js";

interface BoardTask {
  id: string;
  title: string;
  order: number;
  status: "todo" | "in_progress" | "done";
  assignee: string | null;
}

const system = createSystem();
const LEASE_MS = 60 * 60 * 1000; // claim with a 60-minute lease
const inbox = (agent: string) => `inbox:${agent}`;

const planner = defineAgent({
  name: "planner",
  handler: async (_: unknown, ctx) => {
    const shared = ctx.state.namespace("shared");
    const titles = ["Design the data schema", "Implement the API endpoints", "Write the integration tests"];
    const tasks: BoardTask[] = titles.map((title, order) => ({ id: `t${order + 1}`, title, order, status: "todo", assignee: "worker" }));
    for (const t of tasks) await shared.set(`board:task:${t.id}`, t, { by: ctx.agentId });
    // Context for the first task, visible only through its own namespace.
    ctx.state.createNamespace(`task:${tasks[0]!.id}`);
    await ctx.state.set(`task:${tasks[0]!.id}`, "db_schema_version", "v3 - JSONB for agent_config", ctx.agentId);
    // Signal the worker: a direct message on its inbox stream.
    await ctx.communication.streaming.send(inbox("worker"), { from: ctx.agentId, text: `Tasks ready: ${tasks.map((t) => t.id).join(", ")}` });
    console.log(`[planner] created ${tasks.length} tasks and signalled the worker`);
    return tasks.length;
  },
});

const worker = defineAgent({
  name: "worker",
  handler: async (_: unknown, ctx) => {
    // Wait for the planner's signal (no polling loop: receive waits, with a timeout).
    const signal = await ctx.communication.streaming.receive<{ from: string; text: string }>(inbox("worker"), { timeout: 5_000 });
    if (signal === undefined) throw new Error("no signal from the planner");
    console.log(`[worker] got "${signal.text}" from ${signal.from}`);
    const shared = ctx.state.namespace("shared");
    const mine = [];
    for (const key of await shared.keys("board:task:")) {
      const task = (await shared.get<BoardTask>(key))!.value;
      if (task.assignee === "worker" && task.status === "todo") mine.push(task);
    }
    mine.sort((a, b) => a.order - b.order); // one track: strictly in order
    const done: string[] = [];
    for (const task of mine) {
      const lock = ctx.sync.getLock(`claim:${task.id}`);
      if (!(await lock.acquire(ctx.agentId, { ttl: LEASE_MS, timeout: 1_000 }))) continue;
      const token = lock.fencingToken;
      try {
        await shared.update<BoardTask>(`board:task:${task.id}`, (t) => {
          t!.status = "in_progress";
        }, { by: ctx.agentId });
        await shared.set(`dashboard:${task.id}`, [`Starting: ${task.title}`], { by: ctx.agentId });
        if (ctx.state.namespaces.has(`task:${task.id}`)) {
          const schema = await ctx.state.get<string>(`task:${task.id}`, "db_schema_version");
          console.log(`[worker] ${task.id} uses shared context: ${schema}`);
        }
        // ... the actual work ...
        await shared.update<string[]>(`dashboard:${task.id}`, (lines) => {
          lines!.push("Done - all acceptance criteria met.");
        }, { by: ctx.agentId });
        await shared.update<BoardTask>(`board:task:${task.id}`, (t) => {
          t!.status = "done";
        }, { by: ctx.agentId });
        done.push(task.id);
        console.log(`[worker] ${task.id} done (lock token ${token})`);
      } finally {
        lock.release(ctx.agentId, token);
      }
    }
    return done;
  },
});

await system.addAgent(planner);
await system.addAgent(worker);
// Both start at once; the worker waits for the planner's message.
const [, done] = await Promise.all([system.call("planner", {}), system.call<string[]>("worker", {})]);
console.log(`\nWorker finished: ${done.join(", ")}`);
for (const id of done) console.log(`  dashboard ${id}: ${JSON.stringify((await system.kv.get(`dashboard:${id}`))?.value)}`);
await system.shutdown();
if (done.length !== 3) process.exitCode = 1;
