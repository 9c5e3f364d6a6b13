import { request as httpRequest, type IncomingMessage } from "node:http";
import { Script } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, createSystem, ValidationError, type MultiAgentSystem } from "../../src/index.js";
import { inspect, type Inspector } from "../../src/inspector/index.js";
import { pageJs } from "../../src/inspector/page/index.js";
import { exampleSystem, worker } from "./example-system.js";

const open: { system: MultiAgentSystem; inspector?: Inspector }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.inspector?.close();
    await o.system.shutdown();
  }
});

async function started(opts: { allowCalls?: boolean; trace?: boolean } = {}): Promise<{ system: MultiAgentSystem; inspector: Inspector; base: string; token: string }> {
  const { system } = await exampleSystem(opts.trace === undefined ? {} : { trace: opts.trace });
  const inspector = await system.inspect({ allowCalls: opts.allowCalls ?? false, print: false });
  open.push({ system, inspector });
  const url = new URL(inspector.url);
  return { system, inspector, base: url.origin, token: url.searchParams.get("token")! };
}

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: IncomingMessage["headers"] }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function post(base: string, path: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: "POST", headers: { "x-covey-token": token, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Reads the page's live feed until `until` is satisfied by the events received so far. */
function readFeed(base: string, token: string, until: (events: { event: string; data: unknown }[]) => boolean, act: () => Promise<void>): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    const req = httpRequest(`${base}/api/live?token=${token}`, (res) => {
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as unknown;
          events.push({ event, data });
          if (event === "hello") act().catch(reject);
          if (until(events)) {
            req.destroy();
            resolve(events);
          }
        }
      });
    });
    req.on("error", (e) => (events.length > 0 ? undefined : reject(e)));
    req.end();
  });
}

describe("MultiAgentSystem#inspect", () => {
  it("listens on loopback and puts a random access token in the URL", async () => {
    const a = await started();
    const b = await started();
    expect(a.inspector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
    expect(a.token).not.toBe(b.token);
  });

  it("prints the URL once, unless told not to", async () => {
    const system = createSystem();
    const lines: string[] = [];
    const inspector = await system.inspect({ print: (line) => lines.push(line) });
    open.push({ system, inspector });
    expect(lines).toEqual([`covey inspector: ${inspector.url}`]);
  });

  it("answers no request without the token: page, script, API and live feed", async () => {
    const { base, token } = await started();
    const wrong = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    for (const path of ["/", "/app.js", "/app.css", "/api/agents", "/api/state", "/api/live", "/api/trace"]) {
      expect((await get(base, path)).status, path).toBe(401);
      expect((await get(base, `${path}?token=${wrong}`)).status, path).toBe(401);
    }
    const page = await get(base, `/?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`/app.js?token=${token}`);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect((await get(base, "/api/agents", { "x-covey-token": token })).status).toBe(200);
  });

  it("answers only to loopback host names (no DNS rebinding)", async () => {
    const { base, token } = await started();
    expect((await get(base, `/?token=${token}`, { host: "attacker.example:80" })).status).toBe(403);
    expect((await get(base, `/?token=${token}`, { host: `localhost:${new URL(base).port}` })).status).toBe(200);
  });

  it("is read-only unless calls are allowed", async () => {
    const { base, token } = await started();
    const catalog = JSON.parse((await get(base, "/api/catalog", { "x-covey-token": token })).body) as { allowCalls: boolean; entries: { name: string; inputSchema?: object }[] };
    expect(catalog.allowCalls).toBe(false);
    expect(catalog.entries.find((e) => e.name === "planner")?.inputSchema).toMatchObject({ type: "object", required: ["goal"] });
    const res = await post(base, "/api/call", token, { name: "worker", input: { task: "x" } });
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.json)).toContain("allowCalls");
  });

  it("calls an agent when allowed, and reports typed errors with code and issues", async () => {
    const { base, token } = await started({ allowCalls: true });
    const ok = await post(base, "/api/call", token, { name: "worker", input: { task: "ship" } });
    expect(ok.json).toMatchObject({ ok: true, value: "done: ship" });
    const invalid = await post(base, "/api/call", token, { name: "planner", input: { goal: "" } });
    expect(invalid.json).toMatchObject({ ok: false, error: { name: "ValidationError", code: "INVALID" } });
    expect((invalid.json["error"] as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    const nobody = await post(base, "/api/call", token, { name: "nobody", input: null });
    expect(nobody.json).toMatchObject({ ok: false, error: { name: "NoResponderError", code: "NO_RESPONDER" } });
  });

  it("reports whether the board is in use", async () => {
    const { base, token } = await started();
    const board = JSON.parse((await get(base, "/api/board", { "x-covey-token": token })).body) as { inUse: boolean; tasks: { title: string }[] };
    expect(board.inUse).toBe(true);
    expect(board.tasks.map((t) => t.title)).toEqual(["Outline the notes", "Write the notes", "Ship the build"]);
    const bare = createSystem();
    const inspector = await bare.inspect({ print: false });
    open.push({ system: bare, inspector });
    const none = JSON.parse((await get(new URL(inspector.url).origin, "/api/board", { "x-covey-token": new URL(inspector.url).searchParams.get("token")! })).body) as { inUse: boolean };
    expect(none.inUse).toBe(false);
  });

  it("rejects bad options with ValidationError", async () => {
    const system = createSystem();
    open.push({ system });
    await expect(system.inspect({ port: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(system.inspect({ port: 1.5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(system.inspect({ host: "" })).rejects.toBeInstanceOf(ValidationError);
    await expect(system.inspect({ allowCalls: "yes" as unknown as boolean })).rejects.toBeInstanceOf(ValidationError);
  });

  it("turns recording on for a system created without trace; a system never inspected records nothing", async () => {
    const system = createSystem();
    await system.addAgent(worker);
    await system.call(worker, { task: "before" });
    expect(system.trace.records).toHaveLength(0);
    const inspector = await inspect(system, { print: false });
    open.push({ system, inspector });
    await system.call(worker, { task: "after" });
    await system.kv.set("k", 1, { by: "me" });
    expect(system.trace.records.map((r) => r.kind)).toEqual(["request", "dispatch", "reply", "state"]);
    expect(system.trace.records[3]).toMatchObject({ name: "shared/k", detail: { type: "set", value: 1 } });
  });

  it("streams new trace records, state changes with versions, and events to a connected page", async () => {
    const { system, base, token } = await started();
    const events = await readFeed(
      base,
      token,
      (list) => ["trace", "state", "event"].every((k) => list.some((e) => e.event === k)),
      async () => {
        await system.call(worker, { task: "live" });
        await system.kv.set("live-key", { n: 1 }, { by: "tester" });
        await system.events.emit("tester", "custom_thing", { n: 1 });
      },
    );
    const hello = events[0]!.data as { records: { kind: string }[] };
    expect(events[0]!.event).toBe("hello");
    expect(hello.records.length).toBeGreaterThan(10);
    const traced = events.filter((e) => e.event === "trace").flatMap((e) => e.data as { kind: string }[]);
    expect(traced.map((r) => r.kind)).toEqual(expect.arrayContaining(["request", "reply"]));
    const state = events.filter((e) => e.event === "state").flatMap((e) => e.data as { key: string; entry: { version: number; updatedBy: string } }[]);
    expect(state.find((c) => c.key === "live-key")?.entry).toMatchObject({ updatedBy: "tester", version: expect.any(Number) as number });
    const emitted = events.filter((e) => e.event === "event").flatMap((e) => e.data as { type: string }[]);
    expect(emitted.map((e) => e.type)).toContain("custom_thing");
  });

  it("follows a namespace created while a page is open, from the values written before it was found", async () => {
    const { system, base, token } = await started();
    const events = await readFeed(
      base,
      token,
      (list) => list.some((e) => e.event === "state" && (e.data as { namespace: string }[]).some((c) => c.namespace === "late")),
      async () => {
        system.state.createNamespace("late");
        await system.state.namespace("late").set("k", "v", { by: "tester" });
      },
    );
    const change = events.flatMap((e) => (e.event === "state" ? (e.data as { namespace: string; key: string; entry: { value: unknown } }[]) : [])).find((c) => c.namespace === "late");
    expect(change).toMatchObject({ key: "k", entry: { value: "v" } });
  });

  it("serves a key's retained history, the coordination snapshot and the streams", async () => {
    const { base, token } = await started();
    const h = { "x-covey-token": token };
    const key = JSON.parse((await get(base, "/api/state/key?ns=shared&key=plan", h)).body) as { history: { entry: { version: number } }[] };
    expect(key.history.length).toBeGreaterThanOrEqual(3);
    const versions = key.history.map((c) => c.entry.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    const coord = JSON.parse((await get(base, "/api/coordination", h)).body) as {
      sync: { locks: { id: string; holder: string; waiters: unknown[] }[] };
      streams: Record<string, unknown>[];
    };
    expect(coord.sync.locks[0]).toMatchObject({ id: "plan", holder: "planner#1", waiters: [{ agentId: "worker#1" }] });
    expect(coord.streams).toEqual([expect.objectContaining({ id: "results", buffered: 2, highWaterMark: 2, blockedSenders: 1 })]);
    expect((await get(base, "/api/state/key?ns=nowhere&key=x", h)).status).toBe(404);
  });

  it("closes with the system: the port stops answering and inspect() after shutdown is ClosedError", async () => {
    const { system, base } = await started();
    await system.shutdown();
    await expect(get(base, "/")).rejects.toThrow(/ECONNREFUSED/);
    await expect(system.inspect()).rejects.toBeInstanceOf(ClosedError);
  });

  it("close() ends open live feeds and can be called twice", async () => {
    const { inspector, base, token } = await started();
    let connected!: () => void;
    const isConnected = new Promise<void>((resolve) => (connected = resolve));
    const ended = new Promise<void>((resolve) => {
      httpRequest(`${base}/api/live?token=${token}`, { agent: false }, (res) => {
        connected();
        res.resume();
        res.on("close", () => resolve());
      }).end();
    });
    await isConnected;
    await Promise.all([inspector.close(), inspector.close()]);
    await ended;
    await expect(get(base, "/")).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("the inspector page script", () => {
  it("parses as JavaScript and builds no markup from strings", () => {
    expect(() => new Script(pageJs)).not.toThrow();
    expect(pageJs).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
