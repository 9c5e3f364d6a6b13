import { describe, expect, it } from "vitest";
import { createSystem, defineAgent } from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";

describe("AgentContext#kv", () => {
  it("is the shared namespace, like system.kv", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    await system.addAgent(
      defineAgent({
        name: "writer",
        handler: async (v: number, ctx) => {
          await ctx.kv.set("k", v, { by: ctx.agentId });
          return (await ctx.state.get<number>("shared", "k")) ?? null;
        },
      }),
    );
    expect(await system.call("writer", 7)).toBe(7);
    expect((await system.kv.get("k"))?.value).toBe(7);
    expect(system.agents.get("writer#1")!.context.kv).toBe(system.kv);
    await system.shutdown();
  });
});

describe("AgentContext#random", () => {
  it("draws from the system's source of numbers", async () => {
    const draws = [0.25, 0.5, 0.75];
    const system = createSystem({ clock: new VirtualClock(), random: () => draws.shift() ?? 0 });
    await system.addAgent(defineAgent({ name: "dice", handler: (_: unknown, ctx) => [ctx.random(), ctx.random()] }));
    expect(await system.call("dice", {})).toEqual([0.25, 0.5]);
    expect(system.agents.get("dice#1")!.context.random()).toBe(0.75);
    await system.shutdown();
  });

  it("is Math.random by default: numbers in [0, 1)", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    await system.addAgent(defineAgent({ name: "dice", handler: (_: unknown, ctx) => ctx.random() }));
    const x = await system.call<number>("dice", {});
    expect(x).toBeGreaterThanOrEqual(0);
    expect(x).toBeLessThan(1);
    await system.shutdown();
  });
});
