import { describe, expect, it } from "vitest";
import { ValidationError, defineAgent } from "../../src/index.js";
import { VirtualClock, createTestSystem, diffTraces, explore, replay, type Scenario } from "../../src/testing/index.js";

// A real-time watchdog: a hang fails the test in seconds, with a message, instead of at the
// suite's timeout. Nothing here waits on it when the code under test is right.
async function within<T>(p: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms of real time`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

describe("VirtualClock#advance", () => {
  it("rejects a missing, NaN, infinite or negative step with ValidationError and keeps its time", async () => {
    const clock = new VirtualClock(10);
    let fired = false;
    clock.setTimeout(() => (fired = true), 50);
    // @ts-expect-error -- the argument is required; this is the mistake being guarded against
    await expect(clock.advance()).rejects.toBeInstanceOf(ValidationError);
    await expect(clock.advance(Number.NaN)).rejects.toBeInstanceOf(ValidationError);
    await expect(clock.advance(Number.POSITIVE_INFINITY)).rejects.toBeInstanceOf(ValidationError);
    await expect(clock.advance(-1)).rejects.toBeInstanceOf(ValidationError);
    expect(clock.now()).toBe(10);
    expect(fired).toBe(false);
    await clock.advance(50);
    expect(fired).toBe(true);
    expect(clock.now()).toBe(60);
  });
});

describe("SeededScheduler with a delay fault", () => {
  it("lets clock.advance finish when two publications of one publisher to one subscriber are delayed", async () => {
    const { system, clock } = createTestSystem({ seed: 4, faults: { delay: { min: 10, max: 10, kinds: ["publish"] } } });
    const got: unknown[] = [];
    system.communication.pubSub.subscribe("t", (m) => {
      got.push(m.payload);
    });
    const a = system.communication.pubSub.publish("p", "t", 1);
    const b = system.communication.pubSub.publish("p", "t", 2);
    await within(clock.advance(5));
    expect(got).toEqual([]);
    await within(clock.advance(30));
    expect(got).toEqual([1, 2]);
    expect(await a).toEqual({ delivered: 1, failed: 0 });
    expect(await b).toEqual({ delivered: 1, failed: 0 });
    await system.shutdown();
  });
});

// A handler that writes state and emits an event: both go through delayed deliveries.
const recorder = defineAgent({
  name: "recorder",
  handler: async (n: number, ctx) => {
    await ctx.state.namespace("shared").set(`n${n}`, n, { by: ctx.agentId });
    await ctx.events.emit(ctx.agentId, "recorded", { n });
    return n;
  },
});

describe("explore with a delay fault", () => {
  it("terminates when the delay covers state and events, and the runs pass", async () => {
    const scenario: Scenario = async ({ system }) => {
      await system.addAgent(recorder);
      const got = await Promise.all([system.call("recorder", 1), system.call("recorder", 2)]);
      if (JSON.stringify(got) !== "[1,2]") throw new Error(`got ${JSON.stringify(got)}`);
      if ((await system.kv.get("n2"))?.value !== 2) throw new Error("n2 not written");
    };
    const result = await within(explore(scenario, { runs: 10, faults: { delay: { min: 1, max: 50, kinds: ["state", "event"] } } }), 10_000);
    expect(result).toEqual({ runs: 10, failures: [] });
  });

  it("records the faults of a failing run, and replay reproduces it from the record alone", async () => {
    const scenario: Scenario = async ({ system, clock }) => {
      await system.addAgent(recorder);
      const start = clock.now();
      await system.call("recorder", 1);
      if (clock.now() - start > 30) throw new Error(`slow: ${clock.now() - start} ms`);
    };
    const faults = { delay: { min: 0, max: 40, kinds: ["state" as const] } };
    const { failures } = await within(explore(scenario, { runs: 30, faults }), 10_000);
    expect(failures.length).toBeGreaterThan(0);
    const failure = failures[0]!;
    expect(failure.faults).toEqual(faults);
    const again = await within(replay(scenario, failure));
    expect((again.error as Error).message).toBe((failure.error as Error).message);
    expect(again.trace.toMermaid()).toBe(failure.mermaid);
    // The seed alone (without the faults) is another run.
    const seedOnly = await within(replay(scenario, failure.seed));
    expect(seedOnly.error).toBeUndefined();
    const twice = await within(replay(scenario, failure));
    expect(diffTraces(again.trace, twice.trace)).toBeUndefined();
  });
});

// Appends each call's payload, one request at a time.
const appender = defineAgent({
  name: "appender",
  concurrency: 1,
  handler: async (n: number, ctx) => {
    await ctx.state.namespace("shared").update<number[]>("log", (log) => [...(log ?? []), n], { by: ctx.agentId });
    return n;
  },
});

describe("explore and request order", () => {
  it("never reorders two pipelined calls from one caller to a concurrency-1 agent", async () => {
    const scenario: Scenario = async ({ system }) => {
      await system.addAgent(appender);
      await Promise.all([system.call("appender", 1), system.call("appender", 2), system.call("appender", 3)]);
      const log = (await system.kv.get<number[]>("log"))!.value;
      if (JSON.stringify(log) !== "[1,2,3]") throw new Error(`mailbox order broken: ${JSON.stringify(log)}`);
    };
    expect(await within(explore(scenario, { runs: 100 }), 10_000)).toEqual({ runs: 100, failures: [] });
  });

  it("still interleaves calls of different callers", async () => {
    const orders = new Set<string>();
    const scenario: Scenario = async ({ system }) => {
      await system.addAgent(appender);
      await system.addAgent(defineAgent({ name: "a", handler: (_: unknown, ctx) => ctx.call("appender", 1) }));
      await system.addAgent(defineAgent({ name: "b", handler: (_: unknown, ctx) => ctx.call("appender", 2) }));
      await Promise.all([system.call("a", {}), system.call("b", {})]);
      orders.add(JSON.stringify((await system.kv.get<number[]>("log"))!.value));
    };
    await within(explore(scenario, { runs: 40 }), 10_000);
    expect([...orders].sort()).toEqual(["[1,2]", "[2,1]"]);
  });
});

describe("createTestSystem replies", () => {
  it("accepts an undefined reply from a void handler, as production does", async () => {
    const { system } = createTestSystem();
    await system.addAgent(
      defineAgent({
        name: "sink",
        handler: (_: unknown): void => {
          // nothing to answer
        },
      }),
    );
    await expect(system.call("sink", {})).resolves.toBeUndefined();
    await system.shutdown();
  });
});
