// The running example the inspector's tests open: typed agents (one with two instances), a
// teaching-layer agent, state with history, a held lock with a waiter, a semaphore, a barrier
// half-way, a stream with a blocked sender, events and a publication. On a virtual clock, so
// every time on the page (and in the screenshots) is the same at every run.
import { z } from "zod";
import { createSystem, defineAgent, type MultiAgentSystem } from "../../src/index.js";
import { createBoard } from "../../src/board/index.js";
import { VirtualClock } from "../../src/testing/index.js";

/** 2026-01-05 09:00:00 UTC: shown as a time of day on the page. */
export const START = Date.UTC(2026, 0, 5, 9, 0, 0);

export const planner = defineAgent({
  name: "planner",
  description: "Splits a goal into steps and asks a worker to do each one.",
  capabilities: ["planning"],
  input: z.object({
    goal: z.string().min(1).describe("What to achieve"),
    steps: z.number().int().min(1).max(5).default(2),
    urgent: z.boolean().default(false),
  }),
  output: z.object({ plan: z.array(z.string()) }),
  handler: async ({ goal, steps }, ctx) => {
    const plan: string[] = [];
    for (let i = 1; i <= steps; i++) plan.push(await ctx.call<string>("worker", { task: `${goal} #${i}` }));
    await ctx.state.namespace("shared").set("plan", { goal, plan }, { by: ctx.agentId });
    return { plan };
  },
});

export const worker = defineAgent({
  name: "worker",
  description: "Does one task.",
  capabilities: ["work"],
  input: z.object({ task: z.string() }),
  output: z.string(),
  handler: ({ task }) => `done: ${task}`,
});

export interface Example {
  system: MultiAgentSystem;
  clock: VirtualClock;
  /** Waits left pending on purpose (they end with ClosedError at shutdown). */
  pending: Promise<unknown>[];
}

export async function exampleSystem(opts: { trace?: boolean } = {}): Promise<Example> {
  const clock = new VirtualClock(START);
  const system = createSystem({ clock, trace: opts.trace ?? true });
  await system.addAgent(planner);
  await system.addAgent(worker);
  await system.addAgent(worker);
  await system.addAgent("reviewer", ["review"]);

  const kv = system.state.namespace("shared");
  await kv.set("plan", { goal: "launch", plan: [] }, { by: "planner#1" });
  await clock.advance(1500);
  await kv.set("plan", { goal: "launch", plan: ["draft the notes"] }, { by: "planner#1" });
  await clock.advance(2500);
  await kv.set("plan", { goal: "launch", plan: ["draft the notes", "review the notes"], owner: "reviewer" }, { by: "worker#2" });
  await kv.set("config", { retries: 3, region: "eu-west" }, { by: "system" });
  await kv.set("task:1:status", "in_progress", { by: "worker#1" });
  await system.state.namespace("agents").set("worker#1", { busy: false }, { by: "worker#1" });

  const pending: Promise<unknown>[] = [];
  const quiet = (p: Promise<unknown>): void => {
    pending.push(p.catch(() => undefined));
  };
  const lock = system.sync.getLock("plan");
  await lock.acquire("planner#1", { ttl: 30_000 });
  quiet(lock.acquire("worker#1"));
  const gpu = system.sync.getSemaphore("gpu", 2);
  await gpu.acquire("worker#1");
  await gpu.acquire("worker#2");
  quiet(gpu.acquire("reviewer"));
  quiet(system.sync.getBarrier("release", 3).wait("worker#2"));

  const streams = system.communication.streaming;
  streams.createStream("results", { highWaterMark: 2 });
  await streams.send("results", { n: 1 });
  await streams.send("results", { n: 2 });
  quiet(streams.send("results", { n: 3 }));

  system.communication.pubSub.subscribe("plan.*", () => undefined);
  await system.communication.pubSub.publish("planner#1", "plan.updated", { version: 3 });
  await system.events.emit("planner#1", "task_created", { taskId: "1", title: "draft the notes" });
  const board = createBoard(system);
  const lead = board.as("lead");
  const project = await lead.createProject("Launch");
  const beta = await lead.createMilestone(project.id, "Beta");
  const outline = await lead.createTask({ title: "Outline the notes", projectId: project.id, milestoneId: beta.id, track: "docs", order: 1 });
  await lead.createTask({ title: "Write the notes", projectId: project.id, milestoneId: beta.id, track: "docs", order: 2 });
  await lead.createTask({ title: "Ship the build", projectId: project.id, milestoneId: beta.id, track: "code", order: 1 });
  await board.as("worker#1").claimTask(outline.id);
  await board.as("worker#1").dashboardWrite(outline.id, "Outline: intro, changes, upgrade notes");
  await lead.sendMessage("worker#1", "Start with the outline, please.");

  await clock.advance(1000);
  await system.call(planner, { goal: "warm up", steps: 1 });
  return { system, clock, pending };
}
