import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SubscribeRequestSchema, UnsubscribeRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { CoveyError } from "../../errors.js";
import type { Board } from "../board.js";
import { keys } from "../keys.js";
import type { BoardMember } from "../member.js";
import { toolsFor, type ToolPreset, type ToolSession } from "./tools.js";

/** Options of {@link createBoardServer}. */
export interface BoardServerOptions {
  /** Which tools to offer. @default "all" */
  preset?: ToolPreset;
  /** The agent name the connection starts with (else it must call `set_my_name`). */
  name?: string;
}

/** URIs of the board's resources. */
export const BoardResource = {
  board: "covey-board://board",
  inbox: "covey-board://inbox",
  dashboard: (taskId: string) => `covey-board://tasks/${encodeURIComponent(taskId)}/dashboard`,
} as const;

const SERVER_INFO = { name: "covey-board", version: "0.1.0" };

/** A board error as an MCP tool error: the typed code and message, and the error's fields. */
function toolError(e: unknown): CallToolResult {
  const error: Record<string, unknown> =
    e instanceof CoveyError ? { code: e.code, message: e.message } : { code: "INTERNAL", message: e instanceof Error ? e.message : String(e) };
  for (const field of ["rule", "member", "reason", "taskId", "token", "kind", "id"]) {
    if (e instanceof CoveyError && field in e) error[field] = (e as unknown as Record<string, unknown>)[field];
  }
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error }) }] };
}

function json(uri: string, value: unknown) {
  return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(value, null, 2) }] };
}

class Connection implements ToolSession {
  readonly #board: Board;
  #member: BoardMember | undefined;

  constructor(board: Board, name: string | undefined) {
    this.#board = board;
    if (name !== undefined) this.#member = board.as(name);
  }

  get name(): string | undefined {
    return this.#member?.name;
  }

  member(): BoardMember {
    if (this.#member === undefined) throw new NoIdentityError();
    return this.#member;
  }

  setName(name: string): BoardMember {
    if (this.#member?.name !== name) this.#member = this.#board.as(name);
    return this.#member;
  }
}

/** A tool other than set_my_name was called before the connection had a name. Code `NO_IDENTITY`. */
class NoIdentityError extends CoveyError {
  constructor() {
    super("NO_IDENTITY", "This connection has no agent name yet: call set_my_name first");
  }
}

/**
 * Creates an MCP server for one connection to `board`: one tool per board verb (per the
 * preset), board views as resources, and resource update notifications for subscribed views.
 * The board's state stays in the board (and its store); the server holds only the
 * connection's name and claim tokens. Connect it to a transport with `server.connect`.
 *
 * @example
 * ```ts
 * const server = createBoardServer(board, { preset: "core" });
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createBoardServer(board: Board, opts: BoardServerOptions = {}): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { resources: { subscribe: true, listChanged: true }, tools: { listChanged: false } },
    instructions:
      "A task board shared by agents. Call set_my_name first. Claim tasks with claim_task (a lease with a fencing token), " +
      "report progress with dashboard_append, finish with update_task_status. Use wait_for_message instead of polling get_messages.",
  });
  const connection = new Connection(board, opts.name);

  for (const def of toolsFor(opts.preset ?? "all")) {
    server.registerTool(def.name, { description: def.description, inputSchema: def.input, outputSchema: def.output }, async (args: Record<string, unknown>, extra) => {
      try {
        const result = await def.run(connection, args, extra.signal);
        return { structuredContent: result, content: [{ type: "text", text: JSON.stringify(result) }] };
      } catch (e) {
        return toolError(e);
      }
    });
  }

  server.registerResource("board", BoardResource.board, { description: "Every task with its status and claim, and the newest artifacts", mimeType: "application/json" }, async (uri) =>
    json(uri.href, { tasks: await board.tasks(), ...(await board.as("board").readBoard({ limit: 20 })) }),
  );
  server.registerResource("inbox", BoardResource.inbox, { description: "This connection's direct messages", mimeType: "application/json" }, async (uri) =>
    json(uri.href, { messages: connection.name === undefined ? [] : await connection.member().getMessages() }),
  );
  server.registerResource(
    "dashboard",
    new ResourceTemplate("covey-board://tasks/{task_id}/dashboard", {
      list: async () => ({
        resources: (await board.tasks()).map((t) => ({ uri: BoardResource.dashboard(t.id), name: `dashboard of ${t.id}: ${t.title}`, mimeType: "application/json" })),
      }),
    }),
    { description: "A task's dashboard notes", mimeType: "application/json" },
    async (uri, variables) => json(uri.href, await board.as("board").dashboardRead(decodeURIComponent(String(variables["task_id"])))),
  );

  // Update notifications for the views this connection subscribed to.
  const subscribed = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
  const unwatch = board.watch((change) => {
    if (subscribed.size === 0 || !server.isConnected()) return;
    const touched: string[] = [];
    if (change.kind === "task" || change.kind === "artifact" || change.kind === "member") touched.push(BoardResource.board);
    if (change.kind === "dashboard") touched.push(BoardResource.dashboard(change.key.slice("dash:".length)));
    if (change.kind === "message" && connection.name !== undefined && change.key.startsWith(keys.inboxPrefix(connection.name))) touched.push(BoardResource.inbox);
    for (const uri of touched) {
      if (subscribed.has(uri)) {
        server.server.sendResourceUpdated({ uri }).catch(() => {
          // The connection went away between the check and the send.
        });
      }
    }
  });
  const previous = server.server.onclose;
  server.server.onclose = () => {
    unwatch();
    previous?.();
  };
  return server;
}
