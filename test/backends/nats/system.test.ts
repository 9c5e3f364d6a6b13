import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createSystem, defineAgent, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend, type NatsBackend } from "../../../src/backends/nats/index.js";
import { ClosedError, HandlerError, NoResponderError, TimeoutError, ValidationError } from "../../../src/errors.js";
import { eventually, withNatsServer } from "./harness.js";

withNatsServer("MultiAgentSystem over NATS", (fixture) => {
  let meshes = 0;
  const backends = new WeakMap<MultiAgentSystem, NatsBackend>();
  async function pair(): Promise<[MultiAgentSystem, MultiAgentSystem]> {
    const mesh = `sys${++meshes}`;
    const opts = { servers: fixture().server.url, mesh, storage: "memory" as const, heartbeatMs: 200 };
    const systems: MultiAgentSystem[] = [];
    for (let i = 0; i < 2; i++) {
      const backend = await natsBackend(opts);
      const system = createSystem({ backend });
      backends.set(system, backend);
      systems.push(system);
    }
    return [systems[0]!, systems[1]!];
  }

  const upper = defineAgent({
    name: "text.upper",
    description: "Upper-cases text",
    capabilities: ["text"],
    input: z.object({ text: z.string() }),
    output: z.object({ text: z.string() }),
    handler: ({ text }) => ({ text: text.toUpperCase() }),
  });

  describe("call by name across processes", () => {
    it("calls an agent of another system by name and by spec, and sees it in the catalog with its instances", async () => {
      const [provider, consumer] = await pair();
      try {
        await provider.addAgent(upper);
        await provider.addAgent(upper);
        expect(await consumer.call("text.upper", { text: "hi" })).toEqual({ text: "HI" });
        expect(await consumer.call(upper, { text: "spec" })).toEqual({ text: "SPEC" });
        const entry = consumer.catalog().find((e) => e.name === "text.upper");
        expect(entry).toMatchObject({ name: "text.upper", description: "Upper-cases text", capabilities: ["text"], instances: 2 });
        expect(entry!.inputSchema).toMatchObject({ type: "object", properties: { text: { type: "string" } } });
        await consumer.addAgent(upper);
        // Another process's catalog sees the new instance as soon as the write reaches it.
        const seen = await eventually(() => provider.catalog().find((e) => e.name === "text.upper")?.instances, (n) => n === 3);
        expect(seen).toBe(3);
      } finally {
        await provider.shutdown();
        await consumer.shutdown();
      }
    });

    it("numbers instances across the mesh: an instance id names one instance in every process", async () => {
      const [one, two] = await pair();
      try {
        const a = await one.addAgent(upper);
        const b = await two.addAgent(upper);
        const c = await one.addAgent(upper);
        expect([a.agentId, b.agentId, c.agentId]).toEqual(["text.upper#1", "text.upper#2", "text.upper#3"]);
        const whoAnswers = defineAgent({ name: "who", handler: (_: unknown, ctx) => ctx.agentId });
        await one.addAgent(whoAnswers);
        await two.addAgent(whoAnswers);
        // Every call to "who#2" lands on the one instance of that id, in the other process.
        for (let i = 0; i < 5; i++) expect(await one.call("who#2", {})).toBe("who#2");
      } finally {
        await one.shutdown();
        await two.shutdown();
      }
    });

    it("wraps a refusal a handler rethrows from its own call into another process: its caller sees the handler failed", async () => {
      const [a, b] = await pair();
      try {
        await b.addAgent(defineAgent({ name: "inner", input: z.object({ n: z.number() }), handler: ({ n }) => n }));
        await a.addAgent(defineAgent({ name: "outer", handler: (_: unknown, ctx) => ctx.call("inner", { n: "x" }) }));
        const err = await b.call("outer", {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HandlerError);
        expect((err as HandlerError).cause).toBeInstanceOf(ValidationError);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("rejects with NoResponderError at once when nobody serves the name", async () => {
      const [a, b] = await pair();
      try {
        const started = Date.now();
        await expect(a.call("nobody.here", {}, { timeout: 10_000 })).rejects.toBeInstanceOf(NoResponderError);
        expect(Date.now() - started).toBeLessThan(1000);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("refuses bad input with ValidationError (checked by the remote side) and reports a failing handler as HandlerError", async () => {
      const [provider, consumer] = await pair();
      try {
        await provider.addAgent(upper);
        await provider.addAgent(
          defineAgent({
            name: "fails",
            handler: (): never => {
              throw new RangeError("too long");
            },
          }),
        );
        const bad: unknown = await consumer.call("text.upper", { text: 42 }).catch((e: unknown) => e);
        expect(bad).toBeInstanceOf(ValidationError);
        const failed: unknown = await consumer.call("fails", {}).catch((e: unknown) => e);
        expect(failed).toBeInstanceOf(HandlerError);
        expect((failed as HandlerError).cause).toBeInstanceOf(RangeError);
        expect(((failed as HandlerError).cause as Error).message).toBe("too long");
      } finally {
        await provider.shutdown();
        await consumer.shutdown();
      }
    });

    it("fails a caller fast with ClosedError when the responding process dies mid-request", async () => {
      const [provider, consumer] = await pair();
      try {
        let started!: () => void;
        const running = new Promise<void>((resolve) => (started = resolve));
        await provider.addAgent(
          defineAgent({
            name: "slow",
            handler: async () => {
              started();
              await new Promise(() => undefined);
            },
          }),
        );
        const call = consumer.call("slow", {}, { timeout: 30_000 });
        const outcome = call.catch((e: unknown) => e);
        await running;
        const t0 = Date.now();
        // The provider's connection drops without a goodbye, as when its process is killed.
        await backends.get(provider)!.connection.close();
        const err = await outcome;
        expect(err).toBeInstanceOf(ClosedError);
        expect(Date.now() - t0).toBeLessThan(2_000);
      } finally {
        await provider.shutdown().catch(() => undefined);
        await consumer.shutdown();
      }
    });

    it("carries the caller's timeout to the remote handler's ctx.signal", async () => {
      const [provider, consumer] = await pair();
      try {
        let aborted!: (reason: unknown) => void;
        const sawAbort = new Promise<unknown>((resolve) => (aborted = resolve));
        await provider.addAgent(
          defineAgent({
            name: "waits",
            handler: (_: unknown, ctx) =>
              new Promise((_resolve, reject) => {
                ctx.signal.addEventListener("abort", () => {
                  aborted(ctx.signal.reason);
                  reject(ctx.signal.reason as Error);
                });
              }),
          }),
        );
        await expect(consumer.call("waits", {}, { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
        expect(await sawAbort).toBeInstanceOf(TimeoutError);
      } finally {
        await provider.shutdown();
        await consumer.shutdown();
      }
    });
  });

  describe("state, pub-sub and ids", () => {
    it("shares kv across systems with versions, CAS and update", async () => {
      const [a, b] = await pair();
      try {
        const e1 = await a.kv.set("plan", { done: 0 }, { by: "a" });
        const seen = await b.kv.get<{ done: number }>("plan");
        expect(seen).toMatchObject({ value: { done: 0 }, version: e1.version, updatedBy: "a" });
        await Promise.all([
          ...Array.from({ length: 10 }, () => a.kv.update<{ done: number }>("plan", (d) => void d!.done++)),
          ...Array.from({ length: 10 }, () => b.kv.update<{ done: number }>("plan", (d) => void d!.done++)),
        ]);
        expect((await a.kv.get<{ done: number }>("plan"))!.value.done).toBe(20);
        expect(await b.kv.compareAndSwap("owner", undefined, "b")).toBe(true);
        expect(await a.kv.compareAndSwap("owner", undefined, "a")).toBe(false);
        expect(await a.state.get("shared", "owner")).toBe("b");
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("delivers publications to the other system's subscribers, wildcards included", async () => {
      const [a, b] = await pair();
      try {
        const got: string[] = [];
        let done!: () => void;
        const all = new Promise<void>((resolve) => (done = resolve));
        b.communication.pubSub.subscribe("task.*.done", (m) => {
          got.push(`${m.topic}:${JSON.stringify(m.payload)}:${m.sender}`);
          if (got.length === 2) done();
        });
        b.communication.pubSub.subscribe("audit.>", (m) => {
          got.push(`audit ${m.topic}`);
          if (got.length === 2) done();
        });
        // Wait until b's subscription is known to the server.
        await backends.get(b)!.connection.flush();
        const local = await a.communication.pubSub.publish("planner", "task.7.done", { ok: true });
        expect(local).toEqual({ delivered: 0, failed: 0 });
        await a.communication.pubSub.publish("planner", "audit.x.y", 1);
        await all;
        expect(got).toEqual(['task.7.done:{"ok":true}:planner', "audit audit.x.y"]);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("prefixes ids with the process id, and shutdown closes the connection", async () => {
      const backend = await natsBackend({ servers: fixture().server.url, mesh: "ids", processId: "proc7", storage: "memory" });
      const system = createSystem({ backend });
      const events: string[] = [];
      system.events.eventBus.subscribe("*", (e) => void events.push(e.id));
      await system.addAgent("w1", ["general"]);
      await system.submitTask({ id: "t1", type: "general", payload: 1 });
      expect(events.length).toBeGreaterThan(0);
      for (const id of events) expect(id.startsWith("proc7:")).toBe(true);
      await system.shutdown();
      expect(backend.connection.isClosed()).toBe(true);
    });
  });
});
