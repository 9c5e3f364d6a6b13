import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ClosedError,
  EventType,
  HandlerError,
  MultiAgentSystem,
  NoCapableAgentError,
  NoResponderError,
  TimeoutError,
  ValidationError,
  createSystem,
  defineAgent,
  sleep,
} from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const echo = defineAgent({ name: "echo", handler: (x: unknown) => x });

describe("MultiAgentSystem#call", () => {
  it("calls a typed agent by name and returns its output", async () => {
    const system = createSystem();
    await system.addAgent(
      defineAgent({
        name: "adder",
        input: z.object({ a: z.number(), b: z.number() }),
        output: z.object({ sum: z.number() }),
        handler: ({ a, b }) => ({ sum: a + b }),
      }),
    );
    expect(await system.call("adder", { a: 2, b: 3 })).toEqual({ sum: 5 });
    await system.shutdown();
  });

  it("rejects input that breaks the contract with ValidationError; the handler never runs", async () => {
    const system = createSystem();
    let ran = 0;
    await system.addAgent(
      defineAgent({
        name: "typed",
        input: z.object({ n: z.number() }),
        handler: () => {
          ran++;
          return 1;
        },
      }),
    );
    const err = await system.call("typed", { n: "nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]?.path).toEqual(["n"]);
    expect(ran).toBe(0);
    await system.shutdown();
  });

  it("applies the input schema's defaults before the handler sees the input", async () => {
    const system = createSystem();
    await system.addAgent(
      defineAgent({
        name: "defaults",
        input: z.object({ text: z.string(), max: z.number().default(3) }),
        handler: ({ text, max }) => text.slice(0, max),
      }),
    );
    expect(await system.call("defaults", { text: "abcdef" })).toBe("abc");
    await system.shutdown();
  });

  it("gives HandlerError with a ValidationError cause when the output breaks its contract", async () => {
    const system = createSystem();
    await system.addAgent(
      defineAgent({ name: "liar", output: z.object({ ok: z.boolean() }), handler: () => ({ ok: "yes" }) as unknown as { ok: boolean } }),
    );
    const err = await system.call("liar", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBeInstanceOf(ValidationError);
    await system.shutdown();
  });

  it("gives HandlerError with the thrown error as cause when a handler throws", async () => {
    const system = createSystem();
    const boom = new Error("boom");
    await system.addAgent(
      defineAgent({
        name: "thrower",
        handler: () => {
          throw boom;
        },
      }),
    );
    const err = await system.call("thrower", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBe(boom);
    await system.shutdown();
  });

  it("rejects at once with NoResponderError for a name nobody answers", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await expect(system.call("nobody", {})).rejects.toBeInstanceOf(NoResponderError);
    expect(clock.now()).toBe(0);
    await system.shutdown();
  });

  it("times out on the system's clock exactly at the deadline", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await system.addAgent(defineAgent({ name: "slow", handler: (_: unknown, ctx) => sleep(ctx.clock, 10_000, { signal: ctx.signal }) }));
    let settled: unknown;
    const p = system.call("slow", {}, { timeout: 100 }).catch((e: unknown) => (settled = e));
    await clock.advance(99);
    expect(settled).toBeUndefined();
    await clock.advance(1);
    await p;
    expect(settled).toBeInstanceOf(TimeoutError);
    await system.shutdown();
    expect(clock.pending).toBe(0);
  });

  it("rejects with the signal's reason and leaves no listener on a shared signal", async () => {
    const system = createSystem();
    const gate = deferred();
    await system.addAgent(defineAgent({ name: "held", concurrency: 1000, handler: () => gate.promise }));
    const controller = new AbortController();
    const calls = Array.from({ length: 200 }, () => system.call("held", {}, { signal: controller.signal }).catch((e: unknown) => e));
    const reason = new Error("stop");
    controller.abort(reason);
    const results = await Promise.all(calls);
    expect(results.every((r) => r === reason)).toBe(true);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    gate.resolve();
    await system.shutdown();
  });
});

describe("MultiAgentSystem#addAgent", () => {
  it("adds instances of one spec as name#1, name#2 and lists them once in the catalog", async () => {
    const system = createSystem();
    const a = await system.addAgent(echo);
    const b = await system.addAgent(echo);
    expect([a.agentId, b.agentId]).toEqual(["echo#1", "echo#2"]);
    expect(system.catalog()).toEqual([{ name: "echo", description: "", capabilities: [], instances: 2 }]);
    await system.shutdown();
  });

  it("never reuses an instance id after a removal", async () => {
    const system = createSystem();
    await system.addAgent(echo);
    const second = await system.addAgent(echo);
    await system.removeAgent(second.agentId);
    expect((await system.addAgent(echo)).agentId).toBe("echo#3");
    await system.shutdown();
  });

  it("rejects a taken id, a bad spec and a bad concurrency with ValidationError", async () => {
    const system = createSystem();
    await system.addAgent("w1", ["compute"]);
    await expect(system.addAgent("w1", ["x"])).rejects.toBeInstanceOf(ValidationError);
    await expect(system.addAgent(defineAgent({ name: "w1", handler: () => 1 }))).rejects.toBeInstanceOf(ValidationError);
    await expect(system.addAgent(defineAgent({ name: "", handler: () => 1 }))).rejects.toBeInstanceOf(ValidationError);
    await expect(system.addAgent(defineAgent({ name: "c", concurrency: 0, handler: () => 1 }))).rejects.toBeInstanceOf(ValidationError);
    expect([...system.agents.keys()]).toEqual(["w1"]);
    await system.shutdown();
  });

  it("emits AGENT_JOINED and keeps active_agents current", async () => {
    const system = createSystem();
    await system.addAgent("w1", ["compute"]);
    await system.addAgent(echo);
    expect(system.events.eventBus.getHistory({ type: EventType.AGENT_JOINED }).map((e) => e.source)).toEqual(["w1", "echo#1"]);
    expect((await system.kv.get("active_agents"))?.value).toEqual(["w1", "echo#1"]);
    await system.removeAgent("w1");
    expect((await system.kv.get("active_agents"))?.value).toEqual(["echo#1"]);
    await system.shutdown();
  });
});

describe("MultiAgentSystem load balancing", () => {
  it("handles 10,000 concurrent calls across 4 instances, each exactly once, evenly", async () => {
    const system = createSystem();
    const seen = new Map<number, number>();
    const perInstance = new Map<string, number>();
    const spec = defineAgent({
      name: "counter",
      handler: async (n: number, ctx) => {
        seen.set(n, (seen.get(n) ?? 0) + 1);
        perInstance.set(ctx.agentId, (perInstance.get(ctx.agentId) ?? 0) + 1);
        await Promise.resolve();
        return n;
      },
    });
    for (let i = 0; i < 4; i++) await system.addAgent(spec);
    const results = await Promise.all(Array.from({ length: 10_000 }, (_, n) => system.call<number>("counter", n)));
    expect(results).toEqual(Array.from({ length: 10_000 }, (_, n) => n));
    expect(seen.size).toBe(10_000);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect([...perInstance.values()]).toEqual([2500, 2500, 2500, 2500]);
    await system.shutdown();
  });

  it("sends a call to the least busy instance", async () => {
    const system = createSystem();
    const gate = deferred();
    const where: string[] = [];
    const spec = defineAgent({
      name: "w",
      concurrency: 10,
      handler: async (block: boolean, ctx) => {
        where.push(ctx.agentId);
        if (block) await gate.promise;
        return ctx.agentId;
      },
    });
    await system.addAgent(spec);
    await system.addAgent(spec);
    const blocked = [system.call("w", true), system.call("w", true), system.call("w", true)];
    // w#1 holds two blocked calls, w#2 one: the next two go to w#2 first, then alternate fairly.
    expect(where).toEqual(["w#1", "w#2", "w#1"]);
    expect(await system.call("w", false)).toBe("w#2");
    gate.resolve();
    await Promise.all(blocked);
    await system.shutdown();
  });
});

describe("MultiAgentSystem#removeAgent", () => {
  it("rejects queued requests with ClosedError at once, lets the running one finish, aborts its signal", async () => {
    const system = createSystem();
    const gate = deferred();
    let signal: AbortSignal | undefined;
    const agent = await system.addAgent(
      defineAgent({
        name: "busy",
        handler: async (n: number, ctx) => {
          signal = ctx.signal;
          await gate.promise;
          return n;
        },
      }),
    );
    const running = system.call("busy", 1);
    const queued = system.call("busy", 2).catch((e: unknown) => e);
    await Promise.resolve();
    expect(await system.removeAgent(agent.agentId)).toBe(true);
    expect(await queued).toBeInstanceOf(ClosedError);
    expect(signal?.aborted).toBe(true);
    gate.resolve();
    expect(await running).toBe(1);
    expect(system.events.eventBus.getHistory({ type: EventType.AGENT_LEFT }).map((e) => e.source)).toEqual(["busy#1"]);
    await expect(system.call("busy", 3)).rejects.toBeInstanceOf(NoResponderError);
    expect(await system.removeAgent(agent.agentId)).toBe(false);
    await system.shutdown();
  });
});

describe("MultiAgentSystem#submitTask", () => {
  it("runs the textbook task flow on a capable agent", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await system.addAgent("worker_1", ["compute", "data_processing"]);
    await system.addAgent("worker_2", ["analysis"]);
    const result = system.submitTask({ id: "task_1", type: "compute", payload: { data: [1, 2, 3] } });
    await clock.advance(100);
    expect(await result).toEqual({ status: "completed", output: "Result" });
    expect((await system.kv.get("task:task_1:result"))?.value).toEqual({ status: "completed", output: "Result" });
    expect((await system.kv.get("task:task_1:status"))?.value).toBe("completed");
    expect((await system.kv.get("task:task_1:completed"))?.value).toBe(true);
    const types = system.events.eventBus.getHistory({ source: "worker_1" }).map((e) => e.type);
    expect(types).toEqual([EventType.AGENT_JOINED, EventType.TASK_STARTED, EventType.TASK_COMPLETED]);
    expect(system.sync.getLock("task:task_1").holder).toBeUndefined();
    await system.shutdown();
  });

  it("emits TASK_FAILED and rethrows when the work throws, and releases the lock", async () => {
    const system = createSystem();
    await system.addAgent("w", ["compute"], {
      work: () => {
        throw new Error("bad task");
      },
    });
    await expect(system.submitTask({ id: "t", type: "compute" })).rejects.toThrow("bad task");
    expect(system.events.eventBus.getHistory({ type: EventType.TASK_FAILED })).toHaveLength(1);
    expect((await system.kv.get("task:t:status"))?.value).toBe("failed");
    expect(system.sync.getLock("task:t").holder).toBeUndefined();
    await system.shutdown();
  });

  it("routes to the least busy capable agent and fails with NoCapableAgentError when none", async () => {
    const system = createSystem();
    const gate = deferred();
    const ran: string[] = [];
    const work = async (_t: unknown, ctx: { agentId: string }) => {
      ran.push(ctx.agentId);
      await gate.promise;
      return ctx.agentId;
    };
    await system.addAgent("a", ["compute"], { work });
    await system.addAgent("b", ["compute"], { work });
    const t1 = system.submitTask({ type: "compute" });
    const t2 = system.submitTask({ type: "compute" });
    await new Promise((r) => setImmediate(r));
    expect(ran.sort()).toEqual(["a", "b"]);
    await expect(system.submitTask({ type: "painting" })).rejects.toBeInstanceOf(NoCapableAgentError);
    gate.resolve();
    await Promise.all([t1, t2]);
    await system.shutdown();
  });

  it("routes tasks to mesh agents by capability, with the payload as input", async () => {
    const system = createSystem();
    await system.addAgent(defineAgent({ name: "sq", capabilities: ["math"], input: z.number(), handler: (n) => n * n }));
    expect(await system.submitTask({ type: "math", payload: 7 })).toBe(49);
    await system.shutdown();
  });
});

describe("CoordinatedAgent#requestPeer", () => {
  it("asks a peer for its status through request-reply", async () => {
    const system = createSystem();
    const w1 = await system.addAgent("worker_1", ["compute"]);
    await system.addAgent("worker_2", ["analysis", "reporting"]);
    expect(await w1.requestPeer("worker_2", "get_status")).toEqual({
      agentId: "worker_2",
      capabilities: ["analysis", "reporting"],
      active: true,
    });
    expect(await w1.requestPeer("worker_2", "dance")).toEqual({ error: "Unknown action" });
    await system.shutdown();
  });
});

describe("MultiAgentSystem#catalog", () => {
  it("lists the JSON Schema of the zod contracts", async () => {
    const system = createSystem();
    await system.addAgent(
      defineAgent({
        name: "nlp.summarizer",
        description: "Summarizes text",
        capabilities: ["summarize"],
        input: z.object({ text: z.string(), maxLength: z.number().default(200) }),
        output: z.object({ summary: z.string() }),
        handler: ({ text }) => ({ summary: text }),
      }),
    );
    const [entry] = system.catalog();
    expect(entry).toMatchObject({ name: "nlp.summarizer", description: "Summarizes text", capabilities: ["summarize"], instances: 1 });
    expect(entry?.inputSchema).toMatchObject({ type: "object", properties: { text: { type: "string" }, maxLength: { type: "number", default: 200 } } });
    expect(entry?.outputSchema).toMatchObject({ type: "object", required: ["summary"] });
    await system.shutdown();
  });
});

describe("MultiAgentSystem#idle", () => {
  it("resolves once every call has finished", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    let done = 0;
    await system.addAgent(
      defineAgent({
        name: "s",
        concurrency: 5,
        handler: async (_: unknown, ctx) => {
          await sleep(ctx.clock, 50);
          done++;
        },
      }),
    );
    const calls = Array.from({ length: 5 }, () => system.call("s", {}));
    let idle = false;
    const p = system.idle().then(() => (idle = true));
    await clock.advance(49);
    expect(idle).toBe(false);
    await clock.advance(1);
    await p;
    expect(done).toBe(5);
    await Promise.all(calls);
    await system.shutdown();
  });

  it("times out on the system's clock", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await system.addAgent(defineAgent({ name: "s", handler: (_: unknown, ctx) => sleep(ctx.clock, 1000) }));
    const call = system.call("s", {}).catch(() => undefined);
    const p = system.idle({ timeout: 10 }).catch((e: unknown) => e);
    await clock.advance(10);
    expect(await p).toBeInstanceOf(TimeoutError);
    await system.shutdown();
    await call;
  });
});

describe("MultiAgentSystem#shutdown", () => {
  it("ends every pending wait, leaves no timer, and rejects later calls with ClosedError", async () => {
    const clock = new VirtualClock();
    const system = new MultiAgentSystem({ clock });
    await system.addAgent(defineAgent({ name: "slow", handler: (_: unknown, ctx) => sleep(ctx.clock, 60_000, { signal: ctx.signal }) }));
    const call = system.call("slow", {}).catch((e: unknown) => e);
    const lock = system.sync.getLock("l");
    await lock.acquire("a");
    const waiting = lock.acquire("b", { timeout: 5000 }).catch((e: unknown) => e);
    const received = system.communication.streaming.receive("s").catch((e: unknown) => e);
    await system.shutdown();
    expect(await call).toBeInstanceOf(ClosedError);
    expect(await waiting).toBeInstanceOf(ClosedError);
    expect(await received).toSatisfy((r: unknown) => r === undefined || r instanceof ClosedError);
    expect(clock.pending).toBe(0);
    await expect(system.call("slow", {})).rejects.toBeInstanceOf(ClosedError);
    await expect(system.addAgent("x", [])).rejects.toBeInstanceOf(ClosedError);
    await expect(system.submitTask({})).rejects.toBeInstanceOf(ClosedError);
    await system.shutdown();
  });
});

describe("MultiAgentSystem#trace", () => {
  it("records nothing unless tracing is on", async () => {
    const system = createSystem();
    await system.addAgent(echo);
    await system.call("echo", 1);
    expect(system.trace.records).toHaveLength(0);
    await system.shutdown();
  });

  it("records calls and state writes and renders them as Mermaid", async () => {
    const system = createSystem({ trace: true });
    await system.addAgent(
      defineAgent({
        name: "writer",
        handler: async (v: number, ctx) => {
          await ctx.state.namespace("shared").set("k", v, { by: ctx.agentId });
          return v;
        },
      }),
    );
    await system.call("writer", 1);
    const kinds = system.trace.records.map((r) => r.kind);
    expect(kinds).toContain("request");
    expect(kinds).toContain("reply");
    expect(system.trace.records.find((r) => r.kind === "state" && r.name === "shared/k")?.from).toBe("writer#1");
    const mermaid = system.trace.toMermaid();
    expect(mermaid.startsWith("sequenceDiagram\n")).toBe(true);
    // The instance id is one readable participant (however the renderer escapes "#").
    expect(mermaid).toMatch(/participant P\d+ as writer\S{1,5}1$/m);
    await system.shutdown();
  });
});

describe("MultiAgentSystem trackActiveAgents", () => {
  it("leaves active_agents alone when turned off", async () => {
    const system = createSystem({ trackActiveAgents: false });
    await system.addAgent(echo);
    expect(await system.kv.get("active_agents")).toBeUndefined();
    await system.shutdown();
  });

  it("aborts a context signal first read after the agent stopped", async () => {
    const system = createSystem();
    const agent = await system.addAgent(echo);
    await system.removeAgent(agent.agentId);
    expect(agent.context.signal.aborted).toBe(true);
    expect(agent.context.signal.reason).toBeInstanceOf(ClosedError);
    await system.shutdown();
  });
});

describe("MultiAgentSystem#idle while a handler waits", () => {
  it("sleeps instead of polling until the last call ends", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await system.addAgent(defineAgent({ name: "s", handler: (_: unknown, ctx) => sleep(ctx.clock, 100) }));
    const call = system.call("s", {});
    let idle = false;
    const p = system.idle().then(() => (idle = true));
    // While idle() waits, only this loop may schedule macrotask turns: a poller would add its own.
    const realSetImmediate = globalThis.setImmediate;
    let scheduled = 0;
    const counting = ((fn: () => void) => {
      scheduled++;
      return realSetImmediate(fn);
    }) as unknown as typeof setImmediate;
    await new Promise((r) => realSetImmediate(r));
    globalThis.setImmediate = counting;
    try {
      for (let i = 0; i < 20; i++) await new Promise((r) => realSetImmediate(r));
    } finally {
      globalThis.setImmediate = realSetImmediate;
    }
    expect(scheduled).toBe(0);
    expect(idle).toBe(false);
    await clock.advance(100);
    await p;
    await call;
    expect(idle).toBe(true);
    await system.shutdown();
  });
});
