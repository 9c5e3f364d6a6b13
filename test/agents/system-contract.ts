import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ClosedError,
  EventType,
  HandlerError,
  NoCapableAgentError,
  NoResponderError,
  TimeoutError,
  ValidationError,
  defineAgent,
  type CoveyEvent,
  type MultiAgentSystem,
} from "../../src/index.js";

/**
 * Two handles on one agent system: the same system twice in-process, two systems of one mesh
 * over NATS. Everything one handle does (agents, catalog, state, events) is shared with the
 * other, only its visibility may take a moment.
 */
export interface SystemPair {
  readonly a: MultiAgentSystem;
  readonly b: MultiAgentSystem;
  /** Resolves with `probe()`'s value once `done` holds for it (what one side did is visible on the other). */
  until<T>(probe: () => T | Promise<T>, done: (value: T) => boolean): Promise<T>;
  /** Shuts both systems down (idempotent, also after a test shut one down). */
  close(): Promise<void>;
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves when `signal` aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
}

const upperSpec = {
  name: "text.upper",
  description: "Upper-cases text",
  capabilities: ["text", "format"],
  input: z.object({ text: z.string() }),
  output: z.object({ text: z.string() }),
};

/**
 * The behaviour API.md gives the agent system (agents, calls, catalog, tasks, events, shared
 * state, shutdown), checked across the two handles of a pair, so the in-process system and a
 * NATS mesh pass the same tests.
 */
export function systemContract(name: string, makePair: () => Promise<SystemPair>): void {
  async function withPair(body: (p: SystemPair) => Promise<void>): Promise<void> {
    const pair = await makePair();
    try {
      await body(pair);
    } finally {
      await pair.close();
    }
  }

  describe(`${name}: MultiAgentSystem#call across handles`, () => {
    it("calls an agent added on one side by name and by spec from the other", async () => {
      await withPair(async ({ a, b }) => {
        const upper = defineAgent({ ...upperSpec, handler: ({ text }) => ({ text: text.toUpperCase() }) });
        await a.addAgent(upper);
        expect(await b.call("text.upper", { text: "hi" })).toEqual({ text: "HI" });
        expect(await b.call(upper, { text: "spec" })).toEqual({ text: "SPEC" });
        expect(await a.call(upper, { text: "own" })).toEqual({ text: "OWN" });
      });
    });

    it("refuses input that breaks the contract with ValidationError, the handler never running", async () => {
      await withPair(async ({ a, b }) => {
        let ran = 0;
        await a.addAgent(
          defineAgent({
            ...upperSpec,
            handler: ({ text }) => {
              ran++;
              return { text };
            },
          }),
        );
        const err = await b.call("text.upper", { text: 42 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues[0]?.path).toEqual(["text"]);
        await expect(a.call("text.upper", {})).rejects.toBeInstanceOf(ValidationError);
        expect(ran).toBe(0);
      });
    });

    it("reports a throwing handler as HandlerError whose cause is what it threw", async () => {
      await withPair(async ({ a, b }) => {
        await a.addAgent(
          defineAgent({
            name: "fails",
            handler: (): never => {
              throw new RangeError("too long");
            },
          }),
        );
        const err = await b.call("fails", {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HandlerError);
        expect((err as HandlerError).cause).toBeInstanceOf(RangeError);
        expect(((err as HandlerError).cause as Error).message).toBe("too long");
      });
    });

    it("reports output that breaks the contract as HandlerError whose cause is a ValidationError", async () => {
      await withPair(async ({ a, b }) => {
        await a.addAgent(defineAgent({ name: "liar", output: z.object({ ok: z.boolean() }), handler: () => ({ ok: "yes" }) as unknown as { ok: boolean } }));
        const err = await b.call("liar", {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HandlerError);
        expect((err as HandlerError).cause).toBeInstanceOf(ValidationError);
      });
    });

    it("rejects with NoResponderError at once for a name nobody serves", async () => {
      await withPair(async ({ a, b }) => {
        for (const side of [a, b]) {
          const started = Date.now();
          await expect(side.call("nobody.here", {}, { timeout: 10_000 })).rejects.toBeInstanceOf(NoResponderError);
          expect(Date.now() - started).toBeLessThan(1_000);
        }
      });
    });

    it("balances calls across the instances of both sides: every instance gets calls", async () => {
      await withPair(async ({ a, b, until }) => {
        const served = new Map<string, number>();
        const instance = (side: string) =>
          defineAgent({
            name: "balanced",
            handler: async (n: number, ctx) => {
              const who = `${side}:${ctx.agentId}`;
              served.set(who, (served.get(who) ?? 0) + 1);
              await new Promise((resolve) => setImmediate(resolve));
              return n;
            },
          });
        await a.addAgent(instance("a"));
        await a.addAgent(instance("a"));
        await b.addAgent(instance("b"));
        await b.addAgent(instance("b"));
        await until(() => a.catalog().find((e) => e.name === "balanced")?.instances, (n) => n === 4);
        const calls = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).call<number>("balanced", i));
        expect(await Promise.all(calls)).toEqual(Array.from({ length: 40 }, (_, i) => i));
        expect([...served.values()].reduce((x, y) => x + y, 0)).toBe(40);
        expect(served.size).toBe(4);
        for (const count of served.values()) expect(count).toBeGreaterThan(0);
      });
    });
  });

  describe(`${name}: MultiAgentSystem#catalog across handles`, () => {
    it("shows every agent on both sides with its description, capabilities, summed instances and JSON Schemas", async () => {
      await withPair(async ({ a, b, until }) => {
        const upper = defineAgent({ ...upperSpec, handler: ({ text }) => ({ text: text.toUpperCase() }) });
        await a.addAgent(upper);
        await a.addAgent(upper);
        await b.addAgent(upper);
        for (const side of [a, b]) {
          const entry = await until(() => side.catalog().find((e) => e.name === "text.upper"), (e) => e?.instances === 3);
          expect(entry).toMatchObject({ name: "text.upper", description: "Upper-cases text", capabilities: ["text", "format"], instances: 3 });
          expect(entry!.inputSchema).toMatchObject({ type: "object", properties: { text: { type: "string" } }, required: ["text"] });
          expect(entry!.outputSchema).toMatchObject({ type: "object", properties: { text: { type: "string" } } });
        }
      });
    });
  });

  describe(`${name}: MultiAgentSystem#removeAgent across handles`, () => {
    it("drops the instance count on both sides and rejects the removed instance's queued calls with ClosedError", async () => {
      await withPair(async ({ a, b, until }) => {
        const release = gate();
        const started: number[] = [];
        const spec = defineAgent({
          name: "queued",
          handler: async (n: number) => {
            started.push(n);
            await release.promise;
            return n;
          },
        });
        const first = await a.addAgent(spec);
        const second = await a.addAgent(spec);
        await until(() => b.catalog().find((e) => e.name === "queued")?.instances, (n) => n === 2);
        // Each instance runs one call and queues one.
        const outcomes = [0, 1, 2, 3].map((n) => b.call<number>("queued", n, { timeout: 10_000 }).then(
          (value) => ({ n, value }),
          (error: unknown) => ({ n, error }),
        ));
        await until(() => [first.running, first.queued, second.running, second.queued].join(), (s) => s === "1,1,1,1");
        expect(started).toHaveLength(2);
        expect(await a.removeAgent(first.agentId)).toBe(true);
        for (const side of [a, b]) {
          await until(() => side.catalog().find((e) => e.name === "queued")?.instances, (n) => n === 1);
        }
        release.open();
        const results = await Promise.all(outcomes);
        const closed = results.filter((r) => "error" in r);
        expect(closed).toHaveLength(1);
        expect((closed[0] as { error: unknown }).error).toBeInstanceOf(ClosedError);
        // The rejected call is the one that never started; the three others ran and answered.
        expect(started).not.toContain(closed[0]!.n);
        expect(started.sort((x, y) => x - y)).toEqual([0, 1, 2, 3].filter((n) => n !== closed[0]!.n));
        // The last instance gone, the name leaves both catalogs and nobody answers it.
        expect(await a.removeAgent(second.agentId)).toBe(true);
        for (const side of [a, b]) await until(() => side.catalog().some((e) => e.name === "queued"), (x) => !x);
        await expect(b.call("queued", 9, { timeout: 10_000 })).rejects.toBeInstanceOf(NoResponderError);
      });
    });
  });

  describe(`${name}: cancellation across handles`, () => {
    it("times a call out with TimeoutError and aborts the remote handler's ctx.signal", async () => {
      await withPair(async ({ a, b, until }) => {
        let sawAbort: Promise<unknown> | undefined;
        await a.addAgent(
          defineAgent({
            name: "waits",
            handler: async (_: unknown, ctx) => {
              sawAbort = aborted(ctx.signal);
              await sawAbort;
              throw ctx.signal.reason;
            },
          }),
        );
        const started = Date.now();
        await expect(b.call("waits", {}, { timeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(await until(() => sawAbort, (p) => p !== undefined)).toBeInstanceOf(TimeoutError);
      });
    });

    it("aborts the remote handler's ctx.signal when the caller's signal aborts", async () => {
      await withPair(async ({ a, b }) => {
        const running = gate();
        let sawAbort!: Promise<unknown>;
        await a.addAgent(
          defineAgent({
            name: "waits.abort",
            handler: async (_: unknown, ctx) => {
              sawAbort = aborted(ctx.signal);
              running.open();
              await sawAbort;
              return "late";
            },
          }),
        );
        const controller = new AbortController();
        const call = b.call("waits.abort", {}, { signal: controller.signal });
        const outcome = call.catch((e: unknown) => e);
        await running.promise;
        const reason = new Error("caller gave up");
        controller.abort(reason);
        expect(await outcome).toBe(reason);
        // The reason crosses as an abort; the handler sees its signal abort.
        expect(await sawAbort).toBeDefined();
      });
    });
  });

  describe(`${name}: AgentContext#call across handles`, () => {
    it("lets a handler on one side call an agent of the other side", async () => {
      await withPair(async ({ a, b, until }) => {
        await b.addAgent(defineAgent({ name: "inner", input: z.object({ n: z.number() }), handler: ({ n }) => n * 10 }));
        await a.addAgent(
          defineAgent({
            name: "outer",
            handler: async (n: number, ctx) => (await ctx.call<number>("inner", { n })) + 1,
          }),
        );
        await until(() => a.catalog().map((e) => e.name).join(), (s) => s.includes("inner") && s.includes("outer"));
        expect(await b.call("outer", 4)).toBe(41);
        expect(await a.call("outer", 5)).toBe(51);
        // A failure of the inner handler reaches the outer caller as a HandlerError inside a HandlerError.
        await b.addAgent(
          defineAgent({
            name: "inner.fails",
            handler: (): never => {
              throw new RangeError("inner broke");
            },
          }),
        );
        await a.addAgent(defineAgent({ name: "outer.fails", handler: (_: unknown, ctx) => ctx.call("inner.fails", {}) }));
        const err = await b.call("outer.fails", {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HandlerError);
        const inner = (err as HandlerError).cause;
        expect(inner).toBeInstanceOf(HandlerError);
        expect((inner as HandlerError).cause).toBeInstanceOf(RangeError);
        expect(((inner as HandlerError).cause as Error).message).toBe("inner broke");
      });
    });
  });

  describe(`${name}: tasks across handles`, () => {
    it("routes submitTask by capability and rejects with NoCapableAgentError when no agent has it", async () => {
      await withPair(async ({ a }) => {
        await a.addAgent("analyst", ["analysis"], { work: (task) => ({ analysed: task.payload }) });
        await a.addAgent("writer", ["writing"], { work: (task) => ({ written: task.payload }) });
        expect(await a.submitTask({ type: "analysis", payload: 1 })).toEqual({ analysed: 1 });
        expect(await a.submitTask({ type: "writing", payload: 2 })).toEqual({ written: 2 });
        await expect(a.submitTask({ type: "painting", payload: 3 })).rejects.toBeInstanceOf(NoCapableAgentError);
      });
    });

    it("routes submitTask from the other side to an agent having the capability, with the same outcomes", async () => {
      await withPair(async ({ a, b, until }) => {
        let sawAbort: Promise<unknown> | undefined;
        await a.addAgent("remote-analyst", ["remote.analysis"], { work: (task, ctx) => ({ analysed: task.payload, by: ctx.agentId }) });
        await a.addAgent("remote-breaker", ["remote.breaking"], {
          work: () => {
            throw new RangeError("cannot do that");
          },
        });
        await a.addAgent("remote-sleeper", ["remote.slow"], {
          work: async (_task, ctx) => {
            sawAbort = aborted(ctx.signal);
            await sawAbort;
            throw ctx.signal.reason;
          },
        });
        await a.addAgent(defineAgent({ name: "remote-mesh", capabilities: ["remote.mesh"], input: z.object({ n: z.number() }), handler: ({ n }) => n + 1 }));
        await until(() => b.catalog().filter((e) => e.name.startsWith("remote-")).length, (n) => n === 4);
        expect(await b.submitTask({ id: "t-remote", type: "remote.analysis", payload: 7 })).toEqual({ analysed: 7, by: "remote-analyst" });
        expect((await b.kv.get("task:t-remote:status"))?.value).toBe("completed");
        // A typed agent's task runs its handler on the payload, checked against its input contract.
        expect(await b.submitTask({ type: "remote.mesh", payload: { n: 1 } })).toBe(2);
        await expect(b.submitTask({ type: "remote.mesh", payload: { n: "one" } })).rejects.toBeInstanceOf(ValidationError);
        // What the work threw is what submitTask rejects with, wherever the agent runs.
        const err = await b.submitTask({ type: "remote.breaking" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RangeError);
        expect((err as Error).message).toBe("cannot do that");
        // The deadline reaches the work on the other side.
        await expect(b.submitTask({ type: "remote.slow" }, { timeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
        expect(await until(() => sawAbort, (p) => p !== undefined)).toBeInstanceOf(TimeoutError);
        const started = Date.now();
        await expect(b.submitTask({ type: "remote.nobody" })).rejects.toBeInstanceOf(NoCapableAgentError);
        expect(Date.now() - started).toBeLessThan(1_000);
      });
    });

    it("lets a teaching agent ask a peer of the other side for its status and to execute a task", async () => {
      await withPair(async ({ a, b }) => {
        const asking = await a.addAgent("peer-a", ["asking"]);
        await b.addAgent("peer-b", ["answering"], { work: (task, ctx) => ({ done: task.payload, by: ctx.agentId }) });
        expect(await asking.requestPeer("peer-b", "get_status")).toEqual({ agentId: "peer-b", capabilities: ["answering"], active: true });
        const task = { id: "t-peer", type: "answering", payload: "x" };
        expect(await asking.requestPeer("peer-b", "execute_task", { task })).toEqual({ done: "x", by: "peer-b" });
        expect((await a.kv.get("task:t-peer:status"))?.value).toBe("completed");
        expect(await asking.requestPeer("peer-b", "dance")).toEqual({ error: "Unknown action" });
        await expect(asking.requestPeer("peer-nobody", "get_status", {}, { timeout: 10_000 })).rejects.toBeInstanceOf(NoResponderError);
      });
    });

    it("runs the textbook task flow: TASK_STARTED / TASK_COMPLETED seen on both sides, status and result in shared state", async () => {
      await withPair(async ({ a, b, until }) => {
        const seen = { a: [] as CoveyEvent[], b: [] as CoveyEvent[] };
        const offA = a.events.eventBus.subscribe("*", (e) => void seen.a.push(e));
        const offB = b.events.eventBus.subscribe("*", (e) => void seen.b.push(e));
        try {
          await a.addAgent("flow-worker", ["flow"], { work: (task) => ({ doubled: (task.payload as number) * 2 }) });
          expect(await a.submitTask({ id: "t-flow", type: "flow", payload: 21 })).toEqual({ doubled: 42 });
          const flow = (list: CoveyEvent[]) =>
            list
              .filter((e) => (e.type === EventType.TASK_STARTED || e.type === EventType.TASK_COMPLETED) && e.payload["taskId"] === "t-flow")
              .map((e) => `${e.type}:${e.source}`);
          for (const list of [seen.a, seen.b]) {
            expect(await until(() => flow(list), (f) => f.length === 2)).toEqual(["task_started:flow-worker", "task_completed:flow-worker"]);
          }
          expect(await until(() => b.kv.get("task:t-flow:status").then((e) => e?.value), (v) => v === "completed")).toBe("completed");
          expect((await b.kv.get("task:t-flow:result"))?.value).toEqual({ doubled: 42 });
          expect(await b.state.get("shared", "task:t-flow:result")).toEqual({ doubled: 42 });
          // The coordinator's reaction to TASK_COMPLETED is shared state too.
          expect(await until(() => b.kv.get("task:t-flow:completed").then((e) => e?.value), (v) => v === true)).toBe(true);
        } finally {
          offA();
          offB();
        }
      });
    });
  });

  describe(`${name}: events across handles`, () => {
    it("delivers an event emitted on one side to the other side's subscribers and history", async () => {
      await withPair(async ({ a, b, until }) => {
        const got: CoveyEvent[] = [];
        const off = b.events.eventBus.subscribe("custom.ping", (e) => void got.push(e));
        try {
          const emitted = await a.events.eventBus.emit({ type: "custom.ping", source: "pinger", payload: { n: 1 }, metadata: { trace: "x" } });
          await b.events.emit("ponger", "custom.ping", { n: 2 });
          const received = await until(() => got.map((e) => e.payload["n"]), (ns) => ns.length === 2);
          expect(received).toEqual([1, 2]);
          expect(got[0]).toEqual(emitted);
          for (const side of [a, b]) {
            const history = await until(() => side.events.eventBus.getHistory({ type: "custom.ping" }), (h) => h.length === 2);
            expect(history.map((e) => `${e.source}:${String(e.payload["n"])}`)).toEqual(["pinger:1", "ponger:2"]);
            expect(side.events.eventBus.getHistory({ source: "ponger" }).map((e) => e.type)).toEqual(["custom.ping"]);
          }
        } finally {
          off();
        }
      });
    });
  });

  describe(`${name}: ReactiveCoordinator across handles`, () => {
    it("keeps the shared active_agents list current as agents join and leave on either side", async () => {
      await withPair(async ({ a, b, until }) => {
        await a.addAgent("member-a", ["general"]);
        await b.addAgent("member-b", ["general"]);
        const members = (side: MultiAgentSystem) => side.kv.get<string[]>("active_agents").then((e) => [...(e?.value ?? [])].sort());
        for (const side of [a, b]) {
          expect(await until(() => members(side), (m) => m.join() === "member-a,member-b")).toEqual(["member-a", "member-b"]);
        }
        expect(await a.removeAgent("member-a")).toBe(true);
        for (const side of [a, b]) expect(await until(() => members(side), (m) => m.join() === "member-b")).toEqual(["member-b"]);
      });
    });
  });

  describe(`${name}: shared state across handles`, () => {
    it("applies kv.update from both sides under contention: N increments each, 2N in the end", async () => {
      await withPair(async ({ a, b }) => {
        const N = 25;
        await a.kv.set("counter", { n: 0 });
        const bump = (side: MultiAgentSystem) => side.kv.update<{ n: number }>("counter", (d) => void d!.n++, { maxRetries: 1_000 });
        await Promise.all([...Array.from({ length: N }, () => bump(a)), ...Array.from({ length: N }, () => bump(b))]);
        expect((await a.kv.get<{ n: number }>("counter"))?.value.n).toBe(2 * N);
        expect((await b.kv.get<{ n: number }>("counter"))?.value.n).toBe(2 * N);
      });
    });
  });

  describe(`${name}: MultiAgentSystem#shutdown`, () => {
    it("rejects a pending call with ClosedError, and every later call, task and add", async () => {
      await withPair(async ({ a, b, until }) => {
        const running = gate();
        await b.addAgent(
          defineAgent({
            name: "holds",
            handler: async (_: unknown, ctx) => {
              running.open();
              await aborted(ctx.signal);
              return "done";
            },
          }),
        );
        await a.addAgent("shut-worker", ["general"]);
        await until(() => a.catalog().some((e) => e.name === "holds"), (x) => x);
        const pending = a.call("holds", {}, { timeout: 10_000 }).catch((e: unknown) => e);
        await running.promise;
        await a.shutdown();
        expect(await pending).toBeInstanceOf(ClosedError);
        await expect(a.call("holds", {})).rejects.toBeInstanceOf(ClosedError);
        await expect(a.submitTask({ type: "general" })).rejects.toBeInstanceOf(ClosedError);
        await expect(a.addAgent(defineAgent({ name: "late", handler: () => 1 }))).rejects.toBeInstanceOf(ClosedError);
      });
    });
  });
}
