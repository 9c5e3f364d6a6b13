import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Board } from "../board.js";
import { createBoardServer } from "./server.js";
import type { ToolPreset } from "./tools.js";

/** Options of {@link serveBoardHttp}. */
export interface BoardHttpOptions {
  /** Interface to bind. @default "127.0.0.1" (loopback only) */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  preset?: ToolPreset;
  /** Extra Host header names to accept besides the loopback names and `host`. */
  allowedHosts?: readonly string[];
  /** Origins (e.g. `http://localhost:3000`) allowed besides loopback ones. */
  allowedOrigins?: readonly string[];
}

/** A running Streamable HTTP board server. */
export interface BoardHttpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:7777/mcp`. */
  readonly url: string;
  /** Closes every session and the listening socket. */
  close(): Promise<void>;
}

const LOOPBACK = ["127.0.0.1", "localhost", "[::1]", "::1"];

function hostname(hostHeader: string): string {
  // "[::1]:7777" -> "[::1]", "localhost:7777" -> "localhost"
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  const colon = hostHeader.lastIndexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}

/**
 * Serves `board` over MCP Streamable HTTP at `/mcp`, one MCP session (and agent identity) per
 * client. Bound to loopback by default; requests whose Host header is not one of this
 * machine's loopback names (or `allowedHosts`), or whose Origin is not loopback (or in
 * `allowedOrigins`), are refused with 403, which stops DNS rebinding from web pages.
 *
 * @example
 * ```ts
 * const http = await serveBoardHttp(board, { port: 7777 });
 * console.log(http.url); // http://127.0.0.1:7777/mcp
 * ```
 */
export async function serveBoardHttp(board: Board, opts: BoardHttpOptions = {}): Promise<BoardHttpServer> {
  const host = opts.host ?? "127.0.0.1";
  const hosts = new Set([...LOOPBACK, host, ...(opts.allowedHosts ?? [])]);
  const origins = new Set(opts.allowedOrigins ?? []);
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();

  const originAllowed = (origin: string): boolean => {
    if (origins.has(origin)) return true;
    try {
      return LOOPBACK.includes(new URL(origin).hostname);
    } catch {
      return false;
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hostHeader = req.headers.host;
    if (hostHeader === undefined || !hosts.has(hostname(hostHeader))) return refuse(res, 403, `Host ${JSON.stringify(hostHeader ?? "")} is not allowed`);
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin)) return refuse(res, 403, `Origin ${JSON.stringify(origin)} is not allowed`);
    if (new URL(req.url ?? "/", "http://x").pathname !== "/mcp") return refuse(res, 404, "Not found: the MCP endpoint is /mcp");
    const id = req.headers["mcp-session-id"];
    if (typeof id === "string") {
      const session = sessions.get(id);
      if (session === undefined) return refuse(res, 404, "Unknown or closed session");
      return session.transport.handleRequest(req, res);
    }
    if (req.method !== "POST") return refuse(res, 400, "No session: start one with an initialize request");
    const server = createBoardServer(board, opts.preset !== undefined ? { preset: opts.preset } : {});
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessions.set(sid, { transport, server });
      },
      onsessionclosed: (sid) => {
        sessions.delete(sid);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
    // A request that did not start a session (not an initialize) leaves nothing behind.
    if (transport.sessionId === undefined || !sessions.has(transport.sessionId)) await server.close();
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) refuse(res, 500, e instanceof Error ? e.message : String(e));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(opts.port ?? 0, host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/mcp`,
    async close() {
      for (const { server } of [...sessions.values()]) await server.close();
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
