import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  createSystem,
  defineAgent,
  type AgentContext,
  type InputOf,
  type MultiAgentSystem,
  type OutputOf,
  type StateStore,
} from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";

// These lines are checked by `npm run typecheck` (tsc over test/): an `@ts-expect-error` whose
// line compiles is itself an error, so each one proves that the mistake is caught.

const summarizer = defineAgent({
  name: "nlp.summarizer",
  input: z.object({ text: z.string(), maxLength: z.number().default(200) }),
  output: z.object({ summary: z.string() }),
  handler: ({ text, maxLength }) => ({ summary: text.slice(0, maxLength) }),
});

const untyped = defineAgent({ name: "plain", handler: (n: number) => n * 2 });
const asyncAgent = defineAgent({ name: "later", handler: async (s: string) => s.length });

describe("InputOf / OutputOf", () => {
  it("take zod's input type (defaults optional) and the output type", () => {
    expectTypeOf<InputOf<typeof summarizer>>().toEqualTypeOf<{ text: string; maxLength?: number | undefined }>();
    expectTypeOf<OutputOf<typeof summarizer>>().toEqualTypeOf<{ summary: string }>();
  });

  it("fall back to the handler's types for a spec without schemas", () => {
    expectTypeOf<InputOf<typeof untyped>>().toEqualTypeOf<number>();
    expectTypeOf<OutputOf<typeof untyped>>().toEqualTypeOf<number>();
    expectTypeOf<OutputOf<typeof asyncAgent>>().toEqualTypeOf<number>();
    expect(asyncAgent.name).toBe("later");
  });
});

describe("MultiAgentSystem#call by spec", () => {
  it("infers input and output from the value defineAgent returned", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    await system.addAgent(summarizer);
    await system.addAgent(untyped);
    const out = await system.call(summarizer, { text: "hello world", maxLength: 5 });
    expectTypeOf(out).toEqualTypeOf<{ summary: string }>();
    expect(out).toEqual({ summary: "hello" });
    // A default stays optional for the caller.
    expect(await system.call(summarizer, { text: "hi" })).toEqual({ summary: "hi" });
    const doubled = await system.call(untyped, 21);
    expectTypeOf(doubled).toEqualTypeOf<number>();
    expect(doubled).toBe(42);

    // @ts-expect-error -- a wrong field name is a compile error
    await system.call(summarizer, { txt: 1 }).catch(() => undefined);
    // @ts-expect-error -- a wrong field type is a compile error
    await system.call(summarizer, { text: 1 }).catch(() => undefined);
    // @ts-expect-error -- a missing required field is a compile error
    await system.call(summarizer, {}).catch(() => undefined);
    // @ts-expect-error -- the output is not assignable to an unrelated type
    const wrong: { nope: number } = await system.call(summarizer, { text: "x" });
    void wrong;
    await system.shutdown();
  });

  it("keeps working by name, with an explicit output type or unknown", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    await system.addAgent(summarizer);
    const byName = await system.call("nlp.summarizer", { text: "abc" });
    expectTypeOf(byName).toEqualTypeOf<unknown>();
    const typed = await system.call<{ summary: string }>("nlp.summarizer", { text: "abc" });
    expectTypeOf(typed).toEqualTypeOf<{ summary: string }>();
    await system.shutdown();
  });
});

describe("AgentContext", () => {
  it("ctx.call infers from a spec; ctx.kv is a StateStore; ctx.random() is a number", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    await system.addAgent(summarizer);
    const caller = defineAgent({
      name: "caller",
      handler: async (text: string, ctx: AgentContext) => {
        const r = await ctx.call(summarizer, { text });
        expectTypeOf(r).toEqualTypeOf<{ summary: string }>();
        // @ts-expect-error -- ctx.call checks the input against the spec too
        void ctx.call(summarizer, { text: 5 }).catch(() => undefined);
        expectTypeOf(ctx.kv).toEqualTypeOf<StateStore>();
        expectTypeOf(ctx.random()).toEqualTypeOf<number>();
        expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
        expectTypeOf(ctx.agentSignal).toEqualTypeOf<AbortSignal>();
        await ctx.kv.set("last", r.summary);
        const x = ctx.random();
        return { summary: r.summary, random: x >= 0 && x < 1 };
      },
    });
    await system.addAgent(caller);
    const out = await system.call(caller, "abc");
    expectTypeOf(out).toEqualTypeOf<{ summary: string; random: boolean }>();
    expect(out).toEqual({ summary: "abc", random: true });
    expect((await system.kv.get("last"))?.value).toBe("abc");
    await system.shutdown();
  });
});

describe("createSystem<E>", () => {
  it("carries the event map in the system's type", () => {
    type Events = { plan_ready: { planId: string } };
    const system = createSystem<Events>({ clock: new VirtualClock() });
    expectTypeOf(system).toEqualTypeOf<MultiAgentSystem<Events>>();
    void system.shutdown();
  });
});
