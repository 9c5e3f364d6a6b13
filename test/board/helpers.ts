import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

export const root = fileURLToPath(new URL("../..", import.meta.url));

/** A connected MCP client over Streamable HTTP. */
export async function httpClient(url: string, name = "test"): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Calls a tool and returns its structured result; throws the tool error's JSON when it failed. */
export async function call<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError === true) {
    const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("");
    throw Object.assign(new Error(text), { tool: JSON.parse(text) as unknown });
  }
  return result.structuredContent as T;
}

/** Calls a tool that must fail and returns the error object it carried. */
export async function callError(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError !== true) throw new Error(`${name} succeeded: ${JSON.stringify(result.structuredContent)}`);
  const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("");
  return (JSON.parse(text) as { error: Record<string, unknown> }).error;
}

/** Starts a TypeScript program as a child process and resolves with it and the first stdout line matching `ready`. */
export function startProgram(file: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = out.match(ready);
      if (match !== null) resolve({ child, match, output: () => out });
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      err += chunk;
    });
    child.once("exit", (code) => reject(new Error(`${file} exited (${code}) before it was ready: ${out}${err}`)));
  });
}

/** Kills a child by its pid and waits for it to be gone. */
export async function stopProgram(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid!, signal);
  await gone;
}
