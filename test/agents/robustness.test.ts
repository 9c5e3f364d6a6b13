import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { HandlerError, ValidationError, createSystem, defineAgent } from "../../src/index.js";
import { VirtualClock, createTestSystem } from "../../src/testing/index.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const settle = async (p: Promise<unknown>): Promise<unknown> => p.catch((e: unknown) => e);

// Every unhandled rejection during a test is a failure of that test.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
});
afterEach(async () => {
  await new Promise<void>((r) => setImmediate(r));
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
});

describe("Mailbox deep queues", () => {
  it("100,000 calls queued behind one slow call to a synchronous handler all complete", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const gate = deferred();
    let served = 0;
    await system.addAgent(
      defineAgent({
        name: "cache",
        handler: (n: number) => {
          served++;
          return n === -1 ? gate.promise.then(() => -1) : n * 2;
        },
      }),
    );
    const slow = system.call("cache", -1);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 100_000; i++) calls.push(system.call("cache", i));
    gate.resolve();
    await slow;
    const results = await Promise.all(calls);
    expect(results.length).toBe(100_000);
    expect(results[99_999]).toBe(199_998);
    expect(served).toBe(100_001);
    // The agent still serves afterwards.
    expect(await system.call("cache", 5)).toBe(10);
    await system.shutdown();
  });
});

/** Values that break code reading them. */
const hostile = {
  thenGetter: (): object =>
    Object.defineProperty({}, "then", {
      get() {
        throw new Error("then getter");
      },
    }),
  proxy: (): object =>
    new Proxy(
      {},
      {
        get() {
          throw new Error("get trap");
        },
        has() {
          throw new Error("has trap");
        },
        ownKeys() {
          throw new Error("ownKeys trap");
        },
        getPrototypeOf() {
          throw new Error("getPrototypeOf trap");
        },
        getOwnPropertyDescriptor() {
          throw new Error("descriptor trap");
        },
      },
    ),
  throwingThen: (): object => ({
    then() {
      throw new Error("then throws");
    },
  }),
};

describe("Hostile handler values", () => {
  for (const [kind, make] of Object.entries(hostile)) {
    for (const how of ["returns", "resolves", "throws", "rejects"] as const) {
      it(`a handler that ${how} a ${kind} value: HandlerError, slot released, nothing pending`, async () => {
        const system = createSystem({ clock: new VirtualClock() });
        const agent = await system.addAgent(
          defineAgent({
            name: "evil",
            handler: (mode: string) => {
              if (mode === "ok") return "fine";
              const v = make();
              if (how === "returns") return v;
              if (how === "resolves") return Promise.resolve().then(() => v);
              // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
              if (how === "throws") throw v;
              return Promise.resolve().then(() => {
                // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
                throw v;
              });
            },
          }),
        );
        const error = await settle(system.call("evil", "bad"));
        expect(error).toBeInstanceOf(HandlerError);
        expect(agent.running).toBe(0);
        expect(await system.call("evil", "ok")).toBe("fine");
        await system.idle({ timeout: 1000 });
        expect(system.communication.requestReply.inFlight).toBe(0);
        await system.shutdown();
      });
    }
  }

  it("a hostile reply in a test system reaches the caller as HandlerError", async () => {
    const t = createTestSystem({ seed: 3 });
    await t.system.addAgent(defineAgent({ name: "evil", handler: () => hostile.proxy() }));
    await t.system.addAgent(defineAgent({ name: "evil2", handler: () => hostile.thenGetter() }));
    expect(await settle(t.system.call("evil", {}))).toBeInstanceOf(HandlerError);
    expect(await settle(t.system.call("evil2", {}))).toBeInstanceOf(HandlerError);
    await t.system.shutdown();
  });

  it("a non-native thenable result is checked against the output schema by the value it resolves to", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const thenable = (value: unknown) => ({
      then(resolve: (v: unknown) => void) {
        resolve(value);
      },
    });
    await system.addAgent(defineAgent({ name: "good", output: z.number(), handler: () => thenable(5) as unknown as number }));
    await system.addAgent(defineAgent({ name: "bad", output: z.number(), handler: () => thenable("five") as unknown as number }));
    expect(await system.call("good", {})).toBe(5);
    const error = await settle(system.call("bad", {}));
    expect(error).toBeInstanceOf(HandlerError);
    expect((error as HandlerError).cause).toBeInstanceOf(ValidationError);
    await system.shutdown();
  });
});

describe("Instance ids", () => {
  it("are never reused, even after every instance of the name was removed", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const writer = defineAgent({ name: "writer", handler: () => 1 });
    const first = await system.addAgent(writer);
    expect(first.agentId).toBe("writer#1");
    await system.removeAgent("writer#1");
    const second = await system.addAgent(writer);
    expect(second.agentId).toBe("writer#2");
    await system.shutdown();
  });

  it("never collide with an agent added by id", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const teaching = await system.addAgent("x#2", ["general"]);
    const spec = defineAgent({ name: "x", handler: () => 1 });
    const a = await system.addAgent(spec);
    const b = await system.addAgent(spec);
    expect([a.agentId, b.agentId]).toEqual(["x#1", "x#3"]);
    expect(system.agents.get("x#2")).toBe(teaching);
    await system.shutdown();
  });
});

describe("Contracts however the agent is addressed", () => {
  const sq = defineAgent({
    name: "sq",
    input: z.object({ n: z.number().default(3) }),
    handler: ({ n }) => n * n,
  });

  it("a call to an instance id applies the input schema and its defaults", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    await system.addAgent(sq);
    expect(await system.call("sq#1", {})).toBe(9);
    expect(await settle(system.call("sq#1", { n: "x" }))).toBeInstanceOf(ValidationError);
    await system.shutdown();
  });

  it("a transform that throws gives ValidationError", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    await system.addAgent(
      defineAgent({
        name: "t",
        input: z.string().transform(() => {
          throw new Error("transform failed");
        }),
        handler: (x) => x,
      }),
    );
    const error = await settle(system.call("t", "a"));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain("transform failed");
    await system.shutdown();
  });

  it("an async refine gives ValidationError, and the handler never runs", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    let ran = false;
    await system.addAgent(
      defineAgent({
        name: "r",
        input: z.string().refine(async () => Promise.resolve(true)),
        handler: (x) => ((ran = true), x),
      }),
    );
    expect(await settle(system.call("r", "a"))).toBeInstanceOf(ValidationError);
    expect(ran).toBe(false);
    await system.shutdown();
  });
});

describe("Errors passed through once", () => {
  it("wraps a ClosedError a handler rethrows from its own call: the caller sees the handler failed", async () => {
    const system = createSystem();
    const gate = deferred();
    await system.addAgent(defineAgent({ name: "inner", handler: () => gate.promise }));
    await system.addAgent(defineAgent({ name: "outer", handler: (_: unknown, ctx) => ctx.call("inner", {}) }));
    const busy = system.call("inner", {});
    // Queued behind the busy call; rejected with ClosedError when inner is removed.
    const outer = settle(system.call("outer", {}));
    await new Promise<void>((r) => setImmediate(r));
    await system.removeAgent("inner#1");
    const err = await outer;
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBeInstanceOf(Error);
    expect(((err as HandlerError).cause as Error).name).toBe("ClosedError");
    gate.resolve();
    await settle(busy);
    await system.shutdown();
  });
});
