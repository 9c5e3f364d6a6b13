// Type-level tests of covey/testing: compiled by `npm test` (typecheck), and run by vitest.
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { CoveyError, ValidationError, defineAgent, type Message } from "../../src/index.js";
import {
  DeadlockError,
  createProbe,
  createTestSystem,
  explore,
  replay,
  runUntil,
  type ExploreFailure,
  type Probe,
  type Scenario,
} from "../../src/testing/index.js";

const reviewer = defineAgent({
  name: "crew.reviewer",
  input: z.object({ draft: z.string(), strict: z.boolean().default(false) }),
  output: z.object({ approved: z.boolean() }),
  handler: () => ({ approved: true }),
});

const untyped = defineAgent({ name: "echo", handler: (text: string) => text.length });

describe("createProbe types", () => {
  it("types a probe from the spec it stands in for", async () => {
    const { system } = createTestSystem();
    const probe = createProbe(system, reviewer);
    expectTypeOf(probe).toEqualTypeOf<Probe<{ draft: string; strict: boolean }, { approved: boolean }>>();
    expectTypeOf(probe.expectRequest).returns.resolves.toEqualTypeOf<Message<{ draft: string; strict: boolean }>>();
    expectTypeOf(probe.reply).parameter(0).toEqualTypeOf<{ approved: boolean }>();
    // @ts-expect-error -- the reply must match the output contract
    expectTypeOf(probe.reply).toBeCallableWith({ approved: "yes" });
    // @ts-expect-error -- a missing field of the output contract
    expectTypeOf(probe.reply).toBeCallableWith({});
    const echo = createProbe(system, untyped);
    expectTypeOf(echo.reply).parameter(0).toEqualTypeOf<number>();
    expectTypeOf(echo.received).toEqualTypeOf<readonly Message<string>[]>();
    await system.shutdown();
  });

  it("keeps the name-based probe untyped", async () => {
    const { system } = createTestSystem();
    const probe = createProbe(system, "worker");
    expectTypeOf(probe).toEqualTypeOf<Probe>();
    expectTypeOf(probe.reply).parameter(0).toEqualTypeOf<unknown>();
    await system.shutdown();
  });
});

describe("driver types", () => {
  it("run and runUntil resolve to the driven promise's type", async () => {
    const t = createTestSystem();
    expectTypeOf(t.run(Promise.resolve(1))).toEqualTypeOf<Promise<number>>();
    expectTypeOf(t.runUntil(Promise.resolve("x"))).toEqualTypeOf<Promise<string>>();
    expectTypeOf(t.runUntil(() => true)).toEqualTypeOf<Promise<void>>();
    expectTypeOf(runUntil(t.clock, Promise.resolve(true))).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(t.random()).toEqualTypeOf<number>();
    // @ts-expect-error -- run takes a promise, not a function
    await expect(t.run(() => 1)).rejects.toBeInstanceOf(ValidationError);
    await t.run(Promise.resolve());
    await t.system.shutdown();
  });

  it("DeadlockError has code DEADLOCK and a readonly waiting list", () => {
    const e = new DeadlockError(["call system -> \"a\""]);
    expectTypeOf(e).toExtend<CoveyError>();
    expectTypeOf(e.code).toEqualTypeOf<"DEADLOCK">();
    expectTypeOf(e.waiting).toEqualTypeOf<readonly string[]>();
  });

  it("explore failures carry their faults and replay takes a failure or a seed", () => {
    const scenario: Scenario = async ({ system, run }) => {
      await run(system.call("echo", "hi"));
    };
    // Scenarios written for the narrower context of earlier versions still fit.
    const old: Scenario = async ({ system }: { system: ReturnType<typeof createTestSystem>["system"] }) => {
      await system.idle();
    };
    expectTypeOf(old).toEqualTypeOf<Scenario>();
    expectTypeOf<ExploreFailure["faults"]>().toEqualTypeOf<Parameters<typeof explore>[1] extends infer O ? (O extends { faults?: infer F } ? F | undefined : never) : never>();
    expectTypeOf(replay).toBeCallableWith(scenario, 42);
    expectTypeOf(replay).toBeCallableWith(scenario, { seed: 42, faults: { delay: { min: 0, max: 5 } } });
    // @ts-expect-error -- a seed is a number
    expectTypeOf(replay).toBeCallableWith(scenario, "42");
  });
});
