import { describe, expect, it } from "vitest";
import { defineAgent } from "../../src/index.js";
import { createTestSystem, diffTraces, explore, replay, type Scenario } from "../../src/testing/index.js";

type Plan = Record<string, string | null>;

// Reads the plan, then writes its claim: two workers can claim the same task.
const naiveWorker = defineAgent({
  name: "worker",
  handler: async (_: unknown, ctx) => {
    const kv = ctx.state.namespace("shared");
    const plan = (await kv.get<Plan>("plan"))!.value;
    const task = Object.keys(plan).find((id) => plan[id] === null);
    if (task === undefined) return null;
    await kv.set("plan", { ...plan, [task]: ctx.agentId }, { by: ctx.agentId });
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

const claimScenario =
  (worker: typeof naiveWorker): Scenario =>
  async ({ system }) => {
    await system.addAgent(worker);
    await system.addAgent(worker);
    await system.kv.set("plan", { a: null, b: null });
    const claims = await Promise.all([system.call<string | null>("worker", {}), system.call<string | null>("worker", {})]);
    const claimed = claims.filter((c) => c !== null);
    if (new Set(claimed).size !== claimed.length) throw new Error(`double claim of ${claimed[0]}`);
  };

describe("explore", () => {
  it("finds the double claim of a read-then-write worker within 200 runs", async () => {
    const result = await explore(claimScenario(naiveWorker), { runs: 200, seed: 1 });
    expect(result.runs).toBe(200);
    expect(result.failures.length).toBeGreaterThan(0);
    expect(result.failures.length).toBeLessThan(200);
    const failure = result.failures[0]!;
    expect((failure.error as Error).message).toMatch(/double claim/);
    expect(failure.mermaid).toMatch(/^sequenceDiagram\n/);
  });

  it("finds no failure for the kv.update worker in 1,000 runs", async () => {
    const result = await explore(claimScenario(casWorker), { runs: 1000, seed: 1 });
    expect(result).toEqual({ runs: 1000, failures: [] });
  });

  it("stops at the first failure when asked", async () => {
    const result = await explore(claimScenario(naiveWorker), { runs: 200, stopOnFailure: true });
    expect(result.failures).toHaveLength(1);
    expect(result.runs).toBeLessThanOrEqual(200);
  });
});

describe("replay", () => {
  it("reproduces an explored failure with the identical trace", async () => {
    const { failures } = await explore(claimScenario(naiveWorker), { runs: 200, stopOnFailure: true });
    const seed = failures[0]!.seed;
    const a = await replay(claimScenario(naiveWorker), seed);
    const b = await replay(claimScenario(naiveWorker), seed);
    expect((a.error as Error).message).toMatch(/double claim/);
    expect(diffTraces(a.trace, b.trace)).toBeUndefined();
    expect(JSON.stringify(a.trace.toJSON())).toBe(JSON.stringify(b.trace.toJSON()));
    expect(a.trace.toMermaid()).toBe(failures[0]!.mermaid);
  });
});

describe("createTestSystem", () => {
  it("gives the same trace for the same seed and different interleavings for other seeds", async () => {
    const runWith = async (seed: number) => (await replay(claimScenario(naiveWorker), seed)).trace.toJSON();
    const first = await runWith(42);
    expect(await runWith(42)).toEqual(first);
    const orders = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      orders.add(JSON.stringify((await runWith(seed)).map((r) => [r.kind, r.from, r.to, r.name])));
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it("rejects payloads that are not JSON data with ValidationError", async () => {
    const { system } = createTestSystem();
    await system.addAgent(defineAgent({ name: "echo", handler: (x: unknown) => x }));
    await expect(system.call("echo", { when: new Date() })).rejects.toMatchObject({ code: "INVALID" });
    await expect(system.call("echo", { f: () => 1 })).rejects.toMatchObject({ code: "INVALID" });
    await system.shutdown();
  });

  it("crashes a named agent's handler when asked, deterministically", async () => {
    const { system } = createTestSystem({ seed: 3, faults: { crash: ["flaky"] } });
    await system.addAgent(defineAgent({ name: "flaky", handler: () => "ok" }));
    await system.addAgent(defineAgent({ name: "solid", handler: () => "ok" }));
    await expect(system.call("flaky", {})).rejects.toMatchObject({ code: "HANDLER_FAILED" });
    expect(await system.call("solid", {})).toBe("ok");
    await system.shutdown();
  });

  it("delays deliveries by virtual time when asked", async () => {
    const { system, clock } = createTestSystem({ seed: 5, faults: { delay: { min: 10, max: 20, kinds: ["request"] } } });
    await system.addAgent(defineAgent({ name: "echo", handler: (x: unknown) => x }));
    let got: unknown;
    const p = system.call("echo", "hi").then((v) => (got = v));
    await clock.advance(9);
    expect(got).toBeUndefined();
    await clock.advance(11);
    await p;
    expect(got).toBe("hi");
    await system.shutdown();
  });

  it("drops publications with the seeded probability, the same ones for the same seed", async () => {
    const countDelivered = async (seed: number) => {
      const { system } = createTestSystem({ seed, faults: { dropPublications: 0.5 } });
      const got: number[] = [];
      system.communication.pubSub.subscribe("t", (m) => {
        got.push(m.payload as number);
      });
      for (let i = 0; i < 40; i++) void system.communication.pubSub.publish("p", "t", i);
      await system.idle();
      await new Promise((r) => setImmediate(r));
      await system.shutdown();
      return got;
    };
    const a = await countDelivered(9);
    expect(a.length).toBeGreaterThan(5);
    expect(a.length).toBeLessThan(35);
    expect(await countDelivered(9)).toEqual(a);
  });

  it("runUntil steps timers until the condition holds and fails clearly when it never does", async () => {
    const { system, clock, runUntil } = createTestSystem();
    let fired = false;
    clock.setTimeout(() => (fired = true), 5000);
    await runUntil(() => fired);
    expect(clock.now()).toBe(5000);
    await expect(runUntil(() => false)).rejects.toThrow(/never held/);
    await system.shutdown();
  });
});
