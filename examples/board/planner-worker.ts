// Planner and worker on the covey task board, each a separate MCP client process talking to
// one covey-board server over Streamable HTTP. The planner creates a project, a milestone and
// ordered tasks, assigns the worker, stores context in task-scoped memory and sends a DM; the
// worker waits for the DM (pushed, no polling), claims its tasks in track order, writes and
// appends their dashboards and marks them done; the planner reads the dashboards at the end.
//
//   npx tsx examples/board/planner-worker.ts            # starts the server and both agents
//   npx tsx examples/board/planner-worker.ts planner URL  # one agent against a running server
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

interface Task {
  id: string;
  title: string;
  recommended: boolean;
}

async function connect(url: string, name: string) {
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const call = async <T = Record<string, unknown>>(tool: string, args: Record<string, unknown> = {}): Promise<T> => {
    const result = (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
    if (result.isError === true) throw new Error(result.content.map((c) => (c.type === "text" ? c.text : "")).join(""));
    return result.structuredContent as T;
  };
  await call("set_my_name", { name });
  return { client, call };
}

async function planner(url: string): Promise<void> {
  const { client, call } = await connect(url, "planner");
  const project = await call<{ id: string }>("create_project", { name: "API v2" });
  const milestone = await call<{ id: string }>("create_milestone", { project_id: project.id, name: "Sprint 1" });
  const titles = ["Design the data schema", "Implement the API endpoints", "Write the integration tests"];
  const tasks: { id: string; title: string }[] = [];
  for (const [order, title] of titles.entries()) {
    tasks.push(await call("create_task", { project_id: project.id, milestone_id: milestone.id, milestone_track: "main", milestone_track_order: order, title }));
  }
  for (const task of tasks) {
    await call("assign_role", { task_id: task.id, agent_name: "worker", role: "implementer", instructions: `Implement: ${task.title}. Follow existing patterns.` });
  }
  await call("remember", { key: "db_schema_version", value: "v3 - uses JSONB for agent_config", scope: `task:${tasks[0]!.id}` });
  await call("send_message", { to_agent: "worker", message: `Tasks ready in milestone ${milestone.id}. Sprint 1 is live.` });
  console.log(`created ${tasks.length} tasks on track "main" and sent "tasks ready"`);
  // Wait (pushed, no polling) for the worker's report, then read the dashboards.
  const report = await call<{ message: { text: string } | null }>("wait_for_message", { from_agent: "worker", timeout_seconds: 60 });
  console.log(`report from worker: ${report.message?.text ?? "(none)"}`);
  for (const task of tasks) {
    const dash = await call<{ entries: { author: string; text: string }[] }>("dashboard_read", { task_id: task.id });
    console.log(`dashboard ${task.id}: ${dash.entries.map((e) => `${e.author}: ${e.text}`).join(" | ")}`);
  }
  await client.close();
}

async function worker(url: string): Promise<void> {
  const { client, call } = await connect(url, "worker");
  const { message } = await call<{ message: { from: string; text: string } | null }>("wait_for_message", { from_agent: "planner", timeout_seconds: 60 });
  if (message === null) throw new Error("no signal from the planner");
  console.log(`got "${message.text}" from ${message.from}`);
  await call("acknowledge", { from_agent: "planner" });
  const done: string[] = [];
  for (;;) {
    const { tasks } = await call<{ tasks: Task[] }>("get_my_tasks");
    if (tasks.length === 0) break;
    const blocked = tasks.find((t) => !t.recommended);
    if (blocked !== undefined) {
      // Track order is enforced by the board, not by the worker's good manners.
      try {
        await call("claim_task", { task_id: blocked.id, lock_minutes: 60 });
      } catch (e) {
        const { error } = JSON.parse((e as Error).message) as { error: { reason: string } };
        console.log(`claiming ${blocked.id} early is refused: ${error.reason}`);
      }
    }
    const task = tasks.find((t) => t.recommended)!;
    const { token } = await call<{ token: number }>("claim_task", { task_id: task.id, lock_minutes: 60 });
    const context = await call<{ found: boolean; value: unknown }>("recall", { key: "db_schema_version", scope: `task:${task.id}` });
    if (context.found) console.log(`${task.id} uses shared context: ${String(context.value)}`);
    await call("dashboard_write", { task_id: task.id, text: `Starting: ${task.title}` });
    await call("update_task_status", { task_id: task.id, status: "in_progress", token });
    // ... the actual work ...
    await call("dashboard_append", { task_id: task.id, text: "Done - all acceptance criteria met." });
    await call("update_task_status", { task_id: task.id, status: "done", token });
    console.log(`${task.id} done (fencing token ${token})`);
    done.push(task.id);
  }
  await call("send_message", { to_agent: "planner", message: `finished ${done.join(", ")}` });
  console.log(`Worker finished: ${done.join(", ")}`);
  await client.close();
}

/** Runs a program, prefixing each output line with `[tag]`; resolves with its exit code. */
function run(tag: string, args: string[], onLine?: (line: string) => void) {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  createInterface({ input: child.stdout }).on("line", (line) => {
    console.log(`[${tag}] ${line}`);
    onLine?.(line);
  });
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  return { child, exited };
}

const [role, url] = process.argv.slice(2);
if (role === "planner" && url !== undefined) await planner(url);
else if (role === "worker" && url !== undefined) await worker(url);
else {
  const cli = fileURLToPath(new URL("../../src/board/cli.ts", import.meta.url));
  const self = fileURLToPath(import.meta.url);
  let ready: (url: string) => void = () => {};
  const endpoint = new Promise<string>((resolve) => (ready = resolve));
  const server = run("server", [cli, "--http", "127.0.0.1:0", "--preset", "standard"], (line) => {
    const m = /listening on (\S+)/.exec(line);
    if (m !== null) ready(m[1]!);
  });
  const mcpUrl = await Promise.race([endpoint, server.exited.then((code) => Promise.reject(new Error(`server exited (${code})`)))]);
  // Two separate processes, started together: the worker waits for the planner's DM.
  const codes = await Promise.all([run("planner", [self, "planner", mcpUrl]).exited, run("worker", [self, "worker", mcpUrl]).exited]);
  process.kill(server.child.pid!, "SIGTERM");
  await server.exited;
  console.log(`planner exit ${codes[0]}, worker exit ${codes[1]}`);
  if (codes.some((c) => c !== 0)) process.exitCode = 1;
}
