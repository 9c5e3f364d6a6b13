import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { createSystem, type MultiAgentSystem } from "../../src/index.js";
import { createBoard, type Board } from "../../src/board/index.js";
import { serveBoardHttp, type BoardHttpServer } from "../../src/board/mcp/http.js";
import { call, callError, httpClient, root } from "./helpers.js";

const API_TOOLS = [
  "set_my_name", "create_project", "create_milestone", "create_task", "assign_role", "get_my_tasks", "claim_task",
  "update_task_status", "dashboard_write", "dashboard_append", "send_message", "get_messages", "acknowledge",
  "remember", "recall", "queue_work", "pull_work", "publish_artifact", "read_board", "mark_done",
];

async function stdioClient(args: string[]): Promise<Client> {
  const client = new Client({ name: "stdio-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: ["--import", "tsx", "src/board/cli.ts", ...args], cwd: root, stderr: "pipe", env: { ...process.env } as Record<string, string> }),
  );
  return client;
}

describe("covey-board over stdio", { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "covey-board-cli-"));
  const stateFile = join(dir, "board.db");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("offers every tool by default (contract names, input and output schemas) and runs the verbs with structured results and typed tool errors", async () => {
    const client = await stdioClient(["--stdio", "--state", stateFile]);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of API_TOOLS) expect(names).toContain(name);
      expect(tools.every((t) => t.outputSchema !== undefined && t.inputSchema.type === "object")).toBe(true);
      const claim = tools.find((t) => t.name === "claim_task")!;
      expect(Object.keys(claim.inputSchema.properties ?? {})).toEqual(["task_id", "lock_minutes"]);
      expect(await callError(client, "create_project", { name: "x" })).toMatchObject({ code: "NO_IDENTITY" });
      await call(client, "set_my_name", { name: "planner" });
      const project = await call<{ id: string }>(client, "create_project", { name: "API v2" });
      const milestone = await call<{ id: string }>(client, "create_milestone", { project_id: project.id, name: "Sprint 1" });
      const t1 = await call<{ id: string }>(client, "create_task", { project_id: project.id, milestone_id: milestone.id, milestone_track: "main", milestone_track_order: 0, title: "Schema" });
      const t2 = await call<{ id: string }>(client, "create_task", { project_id: project.id, milestone_id: milestone.id, milestone_track: "main", milestone_track_order: 1, title: "API" });
      expect(await callError(client, "claim_task", { task_id: t2.id })).toMatchObject({ code: "CLAIM_REFUSED", reason: "track_order", taskId: t2.id });
      const claimed = await call<{ token: number; task: { status: string } }>(client, "claim_task", { task_id: t1.id, lock_minutes: 5 });
      expect(claimed).toMatchObject({ token: 1, task: { status: "claimed" } });
      expect(await callError(client, "update_task_status", { task_id: t1.id, status: "done", token: 7 })).toMatchObject({ code: "STALE_CLAIM", token: 7 });
      expect(await call(client, "update_task_status", { task_id: t1.id, status: "done" })).toMatchObject({ task: { status: "done", doneBy: "planner" } });
      expect(await call(client, "recall", { key: "nothing" })).toMatchObject({ found: false, value: null });
      await call(client, "assign_role", { task_id: t2.id, agent_name: "worker", role: "implementer" });
      await call(client, "remember", { key: "schema", value: { v: 3 }, scope: `task:${t2.id}` });
      expect(await call(client, "recall", { key: "schema", scope: `task:${t2.id}` })).toMatchObject({ found: true, value: { v: 3 }, by: "planner" });
      const bad = await client.callTool({ name: "claim_task", arguments: { task_id: "" } });
      expect(bad.isError).toBe(true);
      const read = await client.readResource({ uri: "covey-board://board" });
      const text = (read.contents[0] as { text: string }).text;
      expect((JSON.parse(text) as { tasks: unknown[] }).tasks).toHaveLength(2);
    } finally {
      await client.close();
    }
  });
  it("--preset core offers a worker's small set; --state keeps the board across server processes; --name sets the identity", async () => {
    const client = await stdioClient(["--stdio", "--preset", "core", "--state", stateFile, "--name", "worker"]);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(names).toEqual(["acknowledge", "claim_task", "dashboard_append", "get_messages", "get_my_tasks", "send_message", "set_my_name", "update_task_status", "wait_for_message"]);
      // Written by the previous server process.
      const { tasks } = await call<{ tasks: { title: string; recommended: boolean; role: string }[] }>(client, "get_my_tasks");
      expect(tasks).toMatchObject([{ title: "API", recommended: true, role: "implementer" }]);
    } finally {
      await client.close();
    }
  });

});

describe("covey-board over Streamable HTTP", () => {
  let system: MultiAgentSystem;
  let board: Board;
  let http: BoardHttpServer;

  beforeAll(async () => {
    system = createSystem();
    board = createBoard(system);
    http = await serveBoardHttp(board, { port: 0 });
  });
  afterAll(async () => {
    await http.close();
    board.close();
    await system.shutdown();
  });

  it("binds to loopback on a free port", () => {
    expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it("gives each connection its own identity, pushes a message to a waiting worker and notifies resource subscribers", async () => {
    const planner = await httpClient(http.url, "planner");
    const worker = await httpClient(http.url, "worker");
    try {
      await call(planner, "set_my_name", { name: "planner" });
      await call(worker, "set_my_name", { name: "worker" });
      const inboxUpdated = new Promise<string>((resolve) => {
        worker.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
          if (n.params.uri === "covey-board://inbox") resolve(n.params.uri);
        });
      });
      await worker.subscribeResource({ uri: "covey-board://inbox" });
      const waiting = call<{ message: { from: string; text: string } | null }>(worker, "wait_for_message", { from_agent: "planner", timeout_seconds: 20 });
      await call(planner, "send_message", { to_agent: "worker", message: "tasks ready" });
      expect((await waiting).message).toMatchObject({ from: "planner", text: "tasks ready" });
      expect(await inboxUpdated).toBe("covey-board://inbox");
      expect(await call(planner, "get_messages", { filter: "unread" })).toEqual({ messages: [] });
      expect(await call(worker, "acknowledge", { from_agent: "planner" })).toEqual({ acknowledged: 1 });
      expect(await call(worker, "wait_for_message", { timeout_seconds: 0 })).toEqual({ message: null });
    } finally {
      await planner.close();
      await worker.close();
    }
  });

  it("serves a task's dashboard as a resource and notifies its subscribers of each note", async () => {
    const worker = await httpClient(http.url, "worker");
    try {
      await call(worker, "set_my_name", { name: "worker" });
      const task = await call<{ id: string }>(worker, "create_task", { title: "docs" });
      const uri = `covey-board://tasks/${task.id}/dashboard`;
      const listed = await worker.listResources();
      expect(listed.resources.map((r) => r.uri)).toEqual(expect.arrayContaining(["covey-board://board", "covey-board://inbox", uri]));
      const updated = new Promise<string>((resolve) => {
        worker.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
          if (n.params.uri === uri) resolve(n.params.uri);
        });
      });
      await worker.subscribeResource({ uri });
      await call(worker, "dashboard_append", { task_id: task.id, text: "started" });
      expect(await updated).toBe(uri);
      const read = await worker.readResource({ uri });
      const dash = JSON.parse((read.contents[0] as { text: string }).text) as { entries: { author: string; text: string }[] };
      expect(dash.entries).toMatchObject([{ author: "worker", text: "started" }]);
    } finally {
      await worker.close();
    }
  });

  it("refuses a foreign Host or Origin (DNS rebinding) with 403", async () => {
    const port = Number(new URL(http.url).port);
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }));
      });
    expect(await status({ host: "evil.example:80" })).toBe(403);
    expect(await status({ host: `127.0.0.1:${port}`, origin: "http://evil.example" })).toBe(403);
    expect(await status({ host: `localhost:${port}`, origin: `http://localhost:5173` })).toBe(200);
  });
});
