#!/usr/bin/env node
// covey-board: the task board as an MCP server, over stdio (default) or Streamable HTTP.
import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createSystem } from "../agents/system.js";
import { createBoard } from "./board.js";
import { serveBoardHttp } from "./mcp/http.js";
import { createBoardServer } from "./mcp/server.js";
import type { ToolPreset } from "./mcp/tools.js";

const USAGE = `Usage: covey-board [--stdio | --http [HOST:]PORT] [--preset core|standard|all] [--name AGENT]
  --stdio              serve one MCP client on stdin/stdout (the default)
  --http [HOST:]PORT   serve MCP Streamable HTTP at http://HOST:PORT/mcp (HOST defaults to 127.0.0.1; PORT 0 picks a free one)
  --preset P           tools to offer: core (worker), standard (+ planning), all (+ team flow; the default)
  --name AGENT         agent name of a stdio connection (else the client calls set_my_name)
  --state FILE         keep the board in a SQLite file (durable across restarts) instead of memory
  --allow-origin URL   also accept requests from this browser Origin (HTTP; repeatable)`;

function fail(message: string): never {
  process.stderr.write(`covey-board: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        stdio: { type: "boolean" },
        http: { type: "string" },
        preset: { type: "string" },
        name: { type: "string" },
        state: { type: "string" },
        "allow-origin": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
})();

if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const preset = (values.preset ?? "all") as ToolPreset;
if (!["core", "standard", "all"].includes(preset)) fail(`unknown preset ${JSON.stringify(values.preset)}`);
if (values.stdio === true && values.http !== undefined) fail("choose --stdio or --http, not both");

// A durable board: the SQLite store (its driver is an optional peer, loaded only when asked for).
const store = values.state !== undefined ? await (await import("../backends/sqlite/index.js")).sqliteStore(values.state) : undefined;
const system = createSystem(store !== undefined ? { store } : {});
const board = createBoard(system);
await board.ready();

async function stop(): Promise<void> {
  board.close();
  await system.shutdown();
  await store?.close();
}

if (values.http !== undefined) {
  const spec = values.http;
  const colon = spec.lastIndexOf(":");
  const host = colon === -1 ? "127.0.0.1" : spec.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(colon === -1 ? spec : spec.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port in --http ${JSON.stringify(spec)}`);
  const http = await serveBoardHttp(board, { host, port, preset, allowedOrigins: values["allow-origin"] ?? [] });
  process.stdout.write(`covey-board listening on ${http.url} (preset ${preset})\n`);
  const shutdown = (): void => {
    void http.close().then(stop).then(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
} else {
  const server = createBoardServer(board, { preset, ...(values.name !== undefined ? { name: values.name } : {}) });
  const transport = new StdioServerTransport();
  transport.onclose = () => {
    void stop();
  };
  process.stdin.once("end", () => {
    void server.close().then(stop);
  });
  await server.connect(transport);
}
