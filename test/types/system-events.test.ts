import { describe, expectTypeOf, it } from "vitest";
import { createSystem, type CoveyEvent } from "../../src/index.js";
import { createBoard } from "../../src/board/index.js";
import { createProbe, createTestSystem } from "../../src/testing/index.js";

type Crew = { "plan.ready": { planId: string }; "review.done": { approved: boolean } };

describe("createSystem<Events>()", () => {
  it("checks event names and payloads against the map plus the built-in types", async () => {
    const system = createSystem<Crew>();
    await system.events.emit("planner", "plan.ready", { planId: "p1" });
    await system.events.emit("worker", "task_completed", { taskId: "t1" });
    // @ts-expect-error a typo in an event type is a compile error when a map is given
    await system.events.emit("planner", "plan.redy", { planId: "p1" });
    // @ts-expect-error the payload must match the map
    await system.events.emit("planner", "plan.ready", { plan: 1 });
    system.events.eventBus.subscribe("review.done", (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<{ approved: boolean }>();
    });
    // @ts-expect-error unknown type in subscribe
    system.events.eventBus.subscribe("review.dne", () => undefined);
    const once = system.events.eventBus.once("plan.ready", { timeout: 10 }).catch(() => undefined);
    expectTypeOf(once).resolves.toEqualTypeOf<CoveyEvent<{ planId: string }, "plan.ready"> | undefined>();
    await system.shutdown();
  });

  it("a typed system still goes to the helpers that take any system", async () => {
    const system = createSystem<Crew>();
    createBoard(system);
    createProbe(system, "stand-in");
    await system.shutdown();
    const { system: testSystem } = createTestSystem();
    createBoard(testSystem);
    await testSystem.shutdown();
  });
});
