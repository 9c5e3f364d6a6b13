import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { MultiAgentSystem } from "../agents/system.js";
import { ValidationError } from "../errors.js";
import { LiveFeed, recordRow, type RecordSource } from "./live-feed.js";
import { pageCss, pageHtml, pageJs } from "./page/index.js";
import { agentsSnapshot, catalogSnapshot, coordinationSnapshot, eventsSnapshot, keySnapshot, stateSnapshot } from "./snapshot.js";
import { boardSnapshot } from "./board.js";
import { meshSource } from "./mesh-source.js";
import { newToken, sameToken } from "./token.js";
import type { InspectOptions, Inspector } from "./types.js";
import { describeError, toWire } from "./wire.js";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
const MAX_BODY_BYTES = 1024 * 1024;

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  // The token travels in the page's address: never send it on as a referrer.
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
} as const;

function checkOptions(opts: InspectOptions): { port: number; host: string; allowCalls: boolean } {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ValidationError(`inspect: port must be an integer from 0 to 65535, got ${String(port)}`, [{ path: ["port"], message: "must be an integer in 0..65535" }]);
  }
  const host = opts.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") {
    throw new ValidationError("inspect: host must be a non-empty string", [{ path: ["host"], message: "must be a non-empty string" }]);
  }
  if (opts.allowCalls !== undefined && typeof opts.allowCalls !== "boolean") {
    throw new ValidationError("inspect: allowCalls must be a boolean", [{ path: ["allowCalls"], message: "must be a boolean" }]);
  }
  return { port, host, allowCalls: opts.allowCalls ?? false };
}

function urlHost(host: string, port: number): string {
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return shown.includes(":") && !shown.startsWith("[") ? `[${shown}]:${port}` : `${shown}:${port}`;
}

/**
 * Starts the inspector's HTTP server for `system`. Use `system.inspect()`, which turns the
 * trace on and hands over its records.
 * @internal
 */
export async function startInspector(system: MultiAgentSystem, opts: InspectOptions, source: RecordSource): Promise<Inspector> {
  const { port, host, allowCalls } = checkOptions(opts);
  const token = newToken();
  const loopbackOnly = LOOPBACK.has(host);
  const feed = new LiveFeed(system, source);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { ok: false, error: describeError(error) });
      else res.end();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://inspector.invalid");
    // Against DNS rebinding: a loopback inspector answers only to loopback host names.
    const hostName = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (loopbackOnly && !LOOPBACK.has(hostName)) return text(res, 403, "covey inspector: unexpected Host header");
    const given = url.searchParams.get("token") ?? req.headers["x-covey-token"];
    if (!sameToken(token, Array.isArray(given) ? given[0] : given)) {
      return text(res, 401, "covey inspector: missing or wrong access token (open the address system.inspect() printed)");
    }
    const path = url.pathname;
    if (req.method === "POST" && path === "/api/call") return call(req, res);
    if (req.method !== "GET") return text(res, 405, "covey inspector: method not allowed");
    switch (path) {
      case "/":
        return send(res, 200, "text/html; charset=utf-8", pageHtml(token));
      case "/app.js":
        return send(res, 200, "text/javascript; charset=utf-8", pageJs);
      case "/app.css":
        return send(res, 200, "text/css; charset=utf-8", pageCss);
      case "/api/live":
        feed.add(res, { now: system.clock.now(), allowCalls });
        return;
      case "/api/agents":
        return json(res, 200, agentsSnapshot(system, meshSource(system)));
      case "/api/catalog":
        return json(res, 200, catalogSnapshot(system, allowCalls));
      case "/api/state":
        feed.refreshNamespaces();
        return json(res, 200, await stateSnapshot(system));
      case "/api/state/key": {
        const ns = url.searchParams.get("ns");
        const key = url.searchParams.get("key");
        if (ns === null || key === null || !system.state.namespaces.has(ns)) return json(res, 404, { ok: false, error: "no such namespace or key" });
        return json(res, 200, await keySnapshot(system, ns, key));
      }
      case "/api/coordination":
        return json(res, 200, coordinationSnapshot(system));
      case "/api/events":
        return json(res, 200, eventsSnapshot(system, clampLimit(url.searchParams.get("limit"), 1000)));
      case "/api/trace":
        return json(res, 200, source.records.map(recordRow));
      case "/api/board":
        return json(res, 200, await boardSnapshot(system));
      default:
        return text(res, 404, "covey inspector: not found");
    }
  };

  const call = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!allowCalls) return json(res, 403, { ok: false, error: { name: "Forbidden", message: "calls are not allowed: start the inspector with { allowCalls: true }" } });
    let body: { name?: unknown; input?: unknown; timeout?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch (error) {
      return json(res, 400, { ok: false, error: describeError(error) });
    }
    if (typeof body.name !== "string" || body.name === "") return json(res, 400, { ok: false, error: { name: "BadRequest", message: "name must be a non-empty string" } });
    const timeout = typeof body.timeout === "number" ? body.timeout : undefined;
    const started = system.clock.now();
    try {
      const value = await system.call(body.name, body.input, timeout !== undefined ? { timeout } : undefined);
      return json(res, 200, { ok: true, value: toWire(value, 262144), ms: system.clock.now() - started });
    } catch (error) {
      return json(res, 200, { ok: false, error: describeError(error), ms: system.clock.now() - started });
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${urlHost(host, address.port)}/?token=${token}`;
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (print !== false) {
    print(`covey inspector: ${url}${loopbackOnly ? "" : ` (listening on ${host}: reachable from the network, behind the token)`}${allowCalls ? " (calls allowed)" : ""}`);
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        feed.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function clampLimit(raw: string | null, max: number): number {
  const n = raw === null ? max : Number(raw);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : max;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ValidationError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function text(res: ServerResponse, status: number, body: string): void {
  send(res, status, "text/plain; charset=utf-8", body);
}

function json(res: ServerResponse, status: number, data: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(data));
}
