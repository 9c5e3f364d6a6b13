// Planner and worker: the planner creates a project's tasks, stores shared context in a
// task-scoped namespace and signals the worker with a message; the worker waits for the
// signal and claims the tasks in order, each with a leased lock whose fencing token is
// recorded on the task.
//
// The lease matters: the worker stalls on t2 for longer than its lease (a hung tool call),
// a standby worker takes the task over once the lease has expired, and when the first worker
// wakes up its stale fencing token is refused, so t2 is completed exactly once.
import { createSystem, defineAgent, sleep, type AgentContext, type StateStore } from "../src/index.js";

interface BoardTask {
  id: string;
  title: string;
  order: number;
  status: "todo" | "in_progress" | "done";
  assignee: string | null;
  /** Fencing token of the current claim: only its holder may change the task. */
  claimToken: number | null;
  doneBy: string | null;
}

const system = createSystem();
const LEASE_MS = 300; // each claim is a 300 ms lease
const STALL_MS = 700; // the worker hangs this long on t2
const inbox = (agent: string) => `inbox:${agent}`;
const taskKey = (id: string) => `board:task:${id}`;

const planner = defineAgent({
  name: "planner",
  handler: async (_: unknown, ctx) => {
    const titles = ["Design the data schema", "Implement the API endpoints", "Write the integration tests"];
    const tasks: BoardTask[] = titles.map((title, order) => ({
      id: `t${order + 1}`, title, order, status: "todo", assignee: "worker", claimToken: null, doneBy: null,
    }));
    for (const t of tasks) await ctx.kv.set(taskKey(t.id), t, { by: ctx.agentId });
    // Context for the first task, visible only through its own namespace.
    ctx.state.createNamespace(`task:${tasks[0]!.id}`);
    await ctx.state.set(`task:${tasks[0]!.id}`, "db_schema_version", "v3 - JSONB for agent_config", ctx.agentId);
    // Signal the worker: a direct message on its inbox stream.
    await ctx.communication.streaming.send(inbox("worker"), { from: ctx.agentId, text: `Tasks ready: ${tasks.map((t) => t.id).join(", ")}` });
    console.log(`[planner] created ${tasks.length} tasks and signalled the worker`);
    return tasks.length;
  },
});

/** Claims `id` under a lease; returns the fencing token, or undefined if not granted in time. */
async function claim(ctx: AgentContext, id: string, timeout: number): Promise<number | undefined> {
  const lock = ctx.sync.getLock(`claim:${id}`);
  if (!(await lock.acquire(ctx.agentId, { ttl: LEASE_MS, timeout }))) return undefined;
  const token = lock.fencingToken;
  await ctx.kv.update<BoardTask>(taskKey(id), (t) => {
    t.status = "in_progress";
    t.claimToken = token;
  }, { by: ctx.agentId, exists: true });
  return token;
}

/** Marks `id` done only if `token` is still the task's claim; false when a newer claim exists. */
async function complete(kv: StateStore, agentId: string, id: string, token: number): Promise<boolean> {
  const { result: accepted } = await kv.update<BoardTask, boolean>(taskKey(id), (t, out) => {
    out.result = t.claimToken === token && t.status !== "done";
    if (!out.result) return; // a stale holder changes nothing (and nothing is written)
    t.status = "done";
    t.doneBy = agentId;
  }, { by: agentId, exists: true });
  return accepted === true;
}

const worker = defineAgent({
  name: "worker",
  handler: async (_: unknown, ctx) => {
    // Wait for the planner's signal (no polling loop: receive waits, with a timeout).
    const signal = await ctx.communication.streaming.receive<{ from: string; text: string }>(inbox("worker"), { timeout: 5_000 });
    if (signal === undefined) throw new Error("no signal from the planner");
    console.log(`[worker] got "${signal.text}" from ${signal.from}`);
    const mine = [];
    for (const key of await ctx.kv.keys("board:task:")) {
      const task = (await ctx.kv.get<BoardTask>(key))!.value;
      if (task.assignee === "worker" && task.status === "todo") mine.push(task);
    }
    mine.sort((a, b) => a.order - b.order); // one track: strictly in order
    const done: string[] = [];
    for (const task of mine) {
      const token = await claim(ctx, task.id, 1_000);
      if (token === undefined) continue;
      await ctx.kv.set(`dashboard:${task.id}`, [`Starting: ${task.title}`], { by: ctx.agentId });
      if (ctx.state.namespaces.has(`task:${task.id}`)) {
        const schema = await ctx.state.get<string>(`task:${task.id}`, "db_schema_version");
        console.log(`[worker] ${task.id} uses shared context: ${schema}`);
      }
      if (task.id === "t2") {
        console.log(`[worker] ${task.id}: stalls for ${STALL_MS} ms, past its ${LEASE_MS} ms lease`);
        await sleep(ctx.clock, STALL_MS);
      }
      if (await complete(ctx.kv, ctx.agentId, task.id, token)) {
        done.push(task.id);
        console.log(`[worker] ${task.id} done (fencing token ${token})`);
      } else {
        const current = (await ctx.kv.get<BoardTask>(taskKey(task.id)))!.value;
        console.log(`[worker] ${task.id}: stale fencing token ${token} refused (current ${current.claimToken}, done by ${current.doneBy})`);
      }
      const released = ctx.sync.getLock(`claim:${task.id}`).release(ctx.agentId, token);
      if (!released) console.log(`[worker] ${task.id}: release with stale token ${token} refused`);
    }
    return done;
  },
});

// Watches the board; a task stuck "in_progress" becomes its own once the holder's lease expires.
const standby = defineAgent({
  name: "standby",
  handler: async (_: unknown, ctx) => {
    const stuck = await new Promise<string>((resolve) => {
      const stop = ctx.kv.watch("board:task:*", (change) => {
        const t = change.entry?.value as BoardTask | undefined;
        if (t?.id === "t2" && t.status === "in_progress") {
          stop();
          resolve(t.id);
        }
      });
    });
    // Blocks while the worker's lease is live; granted once it has expired.
    const token = await claim(ctx, stuck, 5_000);
    if (token === undefined) return [];
    console.log(`[standby] ${stuck}: lease expired, took over with fencing token ${token}`);
    const ok = await complete(ctx.kv, ctx.agentId, stuck, token);
    ctx.sync.getLock(`claim:${stuck}`).release(ctx.agentId, token);
    if (ok) console.log(`[standby] ${stuck} done (fencing token ${token})`);
    return ok ? [stuck] : [];
  },
});

await system.addAgent(planner);
await system.addAgent(worker);
await system.addAgent(standby);
// All start at once; the worker waits for the planner's message, the standby watches the board.
const [, done, rescued] = await Promise.all([
  system.call("planner", {}),
  system.call<string[]>("worker", {}),
  system.call<string[]>("standby", {}),
]);
console.log(`\nWorker finished: ${done.join(", ")}; standby finished: ${rescued.join(", ")}`);
const finals = await Promise.all(["t1", "t2", "t3"].map(async (id) => (await system.kv.get<BoardTask>(taskKey(id)))!.value));
for (const t of finals) console.log(`  ${t.id}: ${t.status}, done by ${t.doneBy}`);
const completions = done.length + rescued.length;
console.log(`Tasks completed: ${completions} of 3, each exactly once: ${completions === 3 && new Set([...done, ...rescued]).size === 3}`);
await system.shutdown();
if (completions !== 3 || finals.some((t) => t.status !== "done")) process.exitCode = 1;
