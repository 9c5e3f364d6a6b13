import { describe, expect, it } from "vitest";
import { createSystem, defineAgent, traceToMermaid } from "../../src/index.js";
import { createTestSystem, explore, type Scenario, type TraceRecord } from "../../src/testing/index.js";

// Writes the plan, then announces it: the write must be traced before the event and the reply.
const planner = defineAgent({
  name: "planner",
  handler: async (_: unknown, ctx) => {
    const kv = ctx.state.namespace("shared");
    await kv.set("plan-001", { steps: 1 }, { by: ctx.agentId });
    await kv.set("plan-001", { steps: 2 }, { by: ctx.agentId });
    await ctx.events.emit(ctx.agentId, "planned", { id: "plan-001" });
    return "ok";
  },
});

const kinds = (records: readonly TraceRecord[]): string[] =>
  records.filter((r) => r.name !== "agent_joined" && r.name !== "shared/active_agents").map((r) => `${r.kind} ${r.name ?? ""}`.trim());

describe("trace of state writes", () => {
  it("records each write at commit, in program order, with the version written and replaced", async () => {
    const { system, run } = createTestSystem();
    await system.addAgent(planner);
    await run(system.call("planner", {}));
    const records = system.trace.records;
    expect(kinds(records)).toEqual(["request", "dispatch", "state shared/plan-001", "state shared/plan-001", "event planned", "reply"]);
    const writes = records.filter((r) => r.name === "shared/plan-001");
    expect(writes.map((r) => [r.from, r.detail])).toEqual([
      ["planner#1", { type: "set", version: expect.any(Number) as number }],
      ["planner#1", { type: "set", version: expect.any(Number) as number, previous: (writes[0]!.detail as { version: number }).version }],
    ]);
    await system.shutdown();
  });

  it("records writes at commit in a production system too", async () => {
    const system = createSystem({ trace: true });
    await system.addAgent(planner);
    await system.call("planner", {});
    expect(kinds(system.trace.records)).toEqual(["request", "dispatch", "state shared/plan-001", "state shared/plan-001", "event planned", "reply"]);
    await system.shutdown();
  });
});

// Reads the plan, then writes it back changed: racy without compare-and-swap.
const naiveWorker = defineAgent({
  name: "worker",
  handler: async (_: unknown, ctx) => {
    const kv = ctx.state.namespace("shared");
    const plan = (await kv.get<{ claims: string[] }>("plan"))!.value;
    await kv.set("plan", { claims: [...plan.claims, ctx.agentId] }, { by: ctx.agentId });
    return null;
  },
});

const lostUpdate: Scenario = async ({ system }) => {
  await system.addAgent(naiveWorker);
  await system.addAgent(naiveWorker);
  await system.kv.set("plan", { claims: [] });
  await Promise.all([system.call("worker", {}), system.call("worker", {})]);
  const claims = (await system.kv.get<{ claims: string[] }>("plan"))!.value.claims;
  if (claims.length !== 2) throw new Error(`lost update: ${JSON.stringify(claims)}`);
};

describe("trace of state reads", () => {
  it("records reads with the version read and the reader when asked", async () => {
    const t = createTestSystem({ trace: { reads: true } });
    await t.system.addAgent(naiveWorker);
    await t.system.kv.set("plan", { claims: [] });
    await t.run(t.system.call("worker", {}));
    const records = t.system.trace.records;
    const written = records.find((r) => r.kind === "state" && r.name === "shared/plan")!.detail as { version: number };
    const reads = records.filter((r) => r.kind === "read");
    expect(reads.map((r) => [r.from, r.name, r.detail])).toEqual([["worker#1", "shared/plan", { version: written.version }]]);
    // The read comes between the request and the write that follows it.
    const at = (r: TraceRecord | undefined): number => records.indexOf(r!);
    expect(at(reads[0])).toBeGreaterThan(at(records.find((r) => r.kind === "request")));
    expect(at(reads[0])).toBeLessThan(at(records.findLast((r) => r.kind === "state" && r.name === "shared/plan")));
    await t.system.shutdown();
  });

  it("records no reads by default", async () => {
    const t = createTestSystem();
    await t.system.addAgent(naiveWorker);
    await t.system.kv.set("plan", { claims: [] });
    await t.run(t.system.call("worker", {}));
    expect(t.system.trace.records.filter((r) => r.kind === "read")).toEqual([]);
    await t.system.shutdown();
  });

  it("shows a lost update in the Mermaid diagram: two reads of one version, then two writes", async () => {
    const { failures } = await explore(lostUpdate, { runs: 50, stopOnFailure: true, trace: { reads: true } });
    expect(failures).toHaveLength(1);
    const lines = failures[0]!.mermaid.split("\n");
    const notes = lines.filter((l) => /: (get|set) plan/.test(l)).map((l) => l.replace(/^ {2}Note over P\d+: /, ""));
    // Both workers read the version the test wrote; the second write replaces the first one's
    // version, not the one its writer read: the lost update, visible in the diagram.
    const v = /^set plan → v(\d+)$/.exec(notes[0]!)![1]!;
    expect(notes.slice(1, 3)).toEqual([`get plan → v${v}`, `get plan → v${v}`]);
    const [, a, b] = /^set plan v(\d+) → v(\d+)$/.exec(notes[3]!)!;
    expect(a).toBe(v);
    expect(notes[4]).toBe(`set plan v${b} → v${Number(b) + 1}`);
  });
});

describe("traceToMermaid", () => {
  const records: TraceRecord[] = [
    { seq: 1, at: 0, kind: "event", from: "dev.worker#1", name: "agent_joined" },
    { seq: 2, at: 0, kind: "state", from: "reactive-coordinator", name: "shared/active_agents", detail: { type: "set", version: 1 } },
    { seq: 3, at: 0, kind: "request", from: "system", to: "dev.worker", correlationId: "msg-1" },
    { seq: 4, at: 0, kind: "dispatch", from: "dev.worker", to: "dev.worker#1", correlationId: "msg-1" },
    { seq: 5, at: 1, kind: "read", from: "dev.worker#1", name: "shared/plan-001", detail: { version: 3 } },
    { seq: 6, at: 1, kind: "state", from: "dev.worker#1", name: "shared/plan-001", detail: { type: "set", version: 4, previous: 3 } },
    { seq: 7, at: 1, kind: "state", from: "dev.worker#1", name: "shared/notes", detail: { type: "delete", previous: 2 } },
    { seq: 8, at: 2, kind: "reply", from: "dev.worker", to: "system", correlationId: "msg-1" },
    { seq: 9, at: 2, kind: "request", from: "system", to: "other", correlationId: "msg-2" },
  ];

  it("renders versions, readable instance ids, and leaves the bookkeeping out by default", () => {
    expect(traceToMermaid(records)).toBe(
      [
        "sequenceDiagram",
        "  participant P1 as system",
        "  participant P2 as dev.worker",
        "  participant P3 as dev.worker＃1",
        "  participant P4 as other",
        "  P1->>P2: request",
        "  P2->>P3: dispatch",
        "  Note over P3: get plan-001 → v3",
        "  Note over P3: set plan-001 v3 → v4",
        "  Note over P3: delete notes v2",
        "  P2-->>P1: reply",
        "  P1->>P4: request",
        "",
      ].join("\n"),
    );
    expect(traceToMermaid(records)).not.toContain("#35;");
  });

  it("includes the bookkeeping when asked", () => {
    const text = traceToMermaid(records, { bookkeeping: true });
    expect(text).toContain("event agent_joined");
    expect(text).toContain("set active_agents → v1");
  });

  it("filters by kind, by agent (a name covers its instances) and by key prefix", () => {
    const byKind = traceToMermaid(records, { kinds: ["state"] });
    expect(byKind.split("\n").filter((l) => l.includes("Note"))).toEqual(["  Note over P1: set plan-001 v3 → v4", "  Note over P1: delete notes v2"]);
    const byAgent = traceToMermaid(records, { agents: ["other"] });
    expect(byAgent).toContain("P1->>P2: request");
    expect(byAgent).not.toContain("dispatch");
    const byName = traceToMermaid(records, { agents: ["dev.worker"] });
    expect(byName).toContain("get plan-001");
    expect(byName).not.toContain("as other");
    const byKey = traceToMermaid(records, { keyPrefix: "plan" });
    expect(byKey).toContain("set plan-001 v3 → v4");
    expect(byKey).not.toContain("delete notes");
    expect(byKey).toContain("P1->>P2: request");
    expect(traceToMermaid(records, { keyPrefix: "shared/notes" })).toContain("delete notes v2");
    expect(traceToMermaid(records, { limit: 1 })).toBe("sequenceDiagram\n  participant P1 as system\n  participant P2 as other\n  P1->>P2: request\n");
  });

  it("is what Trace#toMermaid renders, filters included", async () => {
    const { system, run } = createTestSystem();
    await system.addAgent(planner);
    await run(system.call("planner", {}));
    expect(system.trace.toMermaid({ kinds: ["state"] })).toBe(traceToMermaid(system.trace.records, { kinds: ["state"] }));
    expect(system.trace.toMermaid()).not.toContain("active_agents");
    await system.shutdown();
  });
});

describe("Trace#subscribe", () => {
  it("hands each new record to listeners until they unsubscribe, and survives a throwing one", async () => {
    const { system, run } = createTestSystem();
    await system.addAgent(planner);
    const seen: TraceRecord[] = [];
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on("warning", onWarning);
    const offBad = system.trace.subscribe(() => {
      throw new Error("listener bug");
    });
    const off = system.trace.subscribe((r) => seen.push(r));
    await run(system.call("planner", {}));
    const count = seen.length;
    expect(seen).toEqual(system.trace.records.slice(-count));
    expect(kinds(seen)).toEqual(["request", "dispatch", "state shared/plan-001", "state shared/plan-001", "event planned", "reply"]);
    off();
    off();
    offBad();
    await run(system.call("planner", {}));
    expect(seen).toHaveLength(count);
    await new Promise((resolve) => setImmediate(resolve));
    process.off("warning", onWarning);
    expect(warnings.some((w) => w.message.includes("listener bug"))).toBe(true);
    await system.shutdown();
  });
});
