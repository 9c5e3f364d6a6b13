import { describe, expect, it } from "vitest";
import { z } from "zod";
import { EventType, HandlerError, TimeoutError, ValidationError, defineAgent } from "../../src/index.js";
import { createProbe, createTestSystem } from "../../src/testing/index.js";

// A planner that asks a worker to do each task of a plan, one after the other.
const planner = defineAgent({
  name: "planner",
  handler: async (tasks: string[], ctx) => {
    const done: string[] = [];
    for (const task of tasks) done.push(await ctx.call<string>("worker", { task }, { timeout: 500 }));
    await ctx.events.emit(ctx.agentId, EventType.TASK_COMPLETED, { taskId: "plan" });
    return done;
  },
});

describe("createProbe", () => {
  it("tests a planner/worker exchange like a synchronous conversation", async () => {
    const { system } = createTestSystem();
    const worker = createProbe(system, "worker");
    await system.addAgent(planner);

    const plan = system.call<string[]>("planner", ["design", "build"]);

    expect((await worker.expectRequest()).payload).toEqual({ task: "design" });
    worker.reply("designed");
    expect((await worker.expectRequest()).payload).toEqual({ task: "build" });
    worker.reply("built");
    await worker.expectNoRequest(1000);
    expect(await plan).toEqual(["designed", "built"]);
    expect((await worker.expectEvent(EventType.TASK_COMPLETED)).payload).toEqual({ taskId: "plan" });
    await system.shutdown();
  });

  it("makes the caller see HandlerError when the probe fails a request", async () => {
    const { system } = createTestSystem();
    const worker = createProbe(system, "worker");
    const call = system.call("worker", { task: 1 }).catch((e: unknown) => e);
    await worker.expectRequest();
    const cause = new Error("disk full");
    worker.fail(cause);
    const err = await call;
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBe(cause);
    await system.shutdown();
  });

  it("times out on virtual time when no request comes", async () => {
    const { system, clock } = createTestSystem();
    const worker = createProbe(system, "worker");
    await expect(worker.expectRequest({ timeout: 250 })).rejects.toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(250);
    await system.shutdown();
  });

  it("fails expectNoRequest when a request arrives", async () => {
    const { system } = createTestSystem();
    const worker = createProbe(system, "worker");
    const call = system.call("worker", {}, { timeout: 10_000 }).catch(() => undefined);
    await expect(worker.expectNoRequest(100)).rejects.toThrow(/expected no request/);
    worker.reply(null);
    await call;
    await system.shutdown();
  });

  it("sees the caller time out when the probe never answers", async () => {
    const { system } = createTestSystem();
    const worker = createProbe(system, "worker");
    await system.addAgent(planner);
    const plan = system.call("planner", ["slow"]).catch((e: unknown) => e);
    await worker.expectRequest();
    await worker.expectNoRequest(600); // the planner's 500 ms call timeout passes meanwhile
    const err = await plan;
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBeInstanceOf(TimeoutError);
    await system.shutdown();
  });
});

describe("createProbe from a spec", () => {
  const reviewer = defineAgent({
    name: "crew.reviewer",
    input: z.object({ draft: z.string(), strict: z.boolean().default(false) }),
    output: z.object({ approved: z.boolean(), notes: z.array(z.string()) }),
    handler: () => ({ approved: true, notes: [] }),
  });

  it("answers under the spec's name with the input after its contract", async () => {
    const t = createTestSystem();
    const probe = createProbe(t.system, reviewer);
    const verdict = t.system.call("crew.reviewer", { draft: "v1" });
    const request = await probe.expectRequest();
    expect(request.payload).toEqual({ draft: "v1", strict: false });
    probe.reply({ approved: false, notes: ["too short"] });
    expect(await verdict).toEqual({ approved: false, notes: ["too short"] });
    await t.system.shutdown();
  });

  it("refuses a reply that breaks the output contract with ValidationError and keeps the request open", async () => {
    const t = createTestSystem();
    const probe = createProbe(t.system, reviewer);
    const verdict = t.system.call("crew.reviewer", { draft: "v1" });
    await probe.expectRequest();
    const bad = { approved: "yes" } as unknown as { approved: boolean; notes: string[] };
    expect(() => probe.reply(bad)).toThrow(ValidationError);
    probe.reply({ approved: true, notes: [] });
    expect(await verdict).toEqual({ approved: true, notes: [] });
    await t.system.shutdown();
  });

  it("fails a call whose input breaks the spec's input contract", async () => {
    const t = createTestSystem();
    const probe = createProbe(t.system, reviewer);
    const err = await t.run(t.system.call("crew.reviewer", { draft: 1 }).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBeInstanceOf(ValidationError);
    expect(probe.received).toEqual([]);
    await t.system.shutdown();
  });
});
