import type { TraceRecord } from "./trace.js";

/** Filters and bounds of a Mermaid rendering of a trace. */
export interface MermaidOptions {
  /** Keep only the last `limit` records (after filtering). */
  limit?: number;
  /** Keep only records of these kinds (`request`, `reply`, `state`, `read`, `event`, ...). */
  kinds?: readonly string[];
  /**
   * Keep only records from or to one of these agents: an agent id (`worker#1`), or a name,
   * which covers its instances (`worker` covers `worker#1`, `worker#2`).
   */
  agents?: readonly string[];
  /**
   * Keep only the state writes and reads whose key starts with this prefix, written as the
   * user wrote it (`plan`, or with its namespace: `shared/plan`); other kinds are kept.
   */
  keyPrefix?: string;
  /**
   * Include the system's own bookkeeping: the coordinator's `active_agents` writes and the
   * `agent_joined` / `agent_left` events. @default false
   */
  bookkeeping?: boolean;
}

const SHARED = "shared/";

// Mermaid's sequence diagram lexer reads "#" as the start of a comment and ";" as the end of a
// statement, and does not decode entities in participant names (`#35;` shows literally). Their
// full-width forms read the same and parse as text.
function label(text: string): string {
  return text.replace(/[#;\r\n]/g, (c) => (c === "#" ? "＃" : c === ";" ? "；" : " "));
}

/** The key as a user of the shared namespace reads it: `plan` for `shared/plan`. */
function keyOf(name: string): string {
  return name.startsWith(SHARED) ? name.slice(SHARED.length) : name;
}

function isBookkeeping(r: TraceRecord): boolean {
  if (r.kind === "event") return r.name === "agent_joined" || r.name === "agent_left";
  if (r.kind === "state") return r.name === `${SHARED}active_agents`;
  return false;
}

function matchesAgent(party: string | undefined, agents: readonly string[]): boolean {
  if (party === undefined) return false;
  for (const a of agents) if (party === a || party.startsWith(`${a}#`)) return true;
  return false;
}

/** Keeps the records `opts` asks for. @internal */
export function filterRecords(records: readonly TraceRecord[], opts: MermaidOptions = {}): readonly TraceRecord[] {
  const { kinds, agents, keyPrefix } = opts;
  const bookkeeping = opts.bookkeeping ?? false;
  const kept = records.filter((r) => {
    if (!bookkeeping && isBookkeeping(r)) return false;
    if (kinds !== undefined && !kinds.includes(r.kind)) return false;
    if (agents !== undefined && !matchesAgent(r.from, agents) && !matchesAgent(r.to, agents)) return false;
    if (keyPrefix !== undefined && (r.kind === "state" || r.kind === "read")) {
      const name = r.name ?? "";
      if (!name.startsWith(keyPrefix) && !keyOf(name).startsWith(keyPrefix)) return false;
    }
    return true;
  });
  const limit = opts.limit;
  return limit !== undefined && limit < kept.length ? kept.slice(kept.length - Math.max(0, limit)) : kept;
}

const version = (v: unknown): string => (typeof v === "number" && v > 0 ? `v${v}` : "none");

/** The text of a record drawn as a note or an arrow. */
function text(r: TraceRecord): string {
  const name = r.name ?? "";
  const d = (r.detail ?? {}) as { type?: unknown; version?: unknown; previous?: unknown; deleted?: unknown };
  if (r.kind === "state") {
    const key = keyOf(name);
    if (d.type === "delete" || d.deleted === true) return `delete ${key}${d.previous !== undefined ? ` ${version(d.previous)}` : ""}`;
    return `set ${key} ${d.previous !== undefined ? `${version(d.previous)} ` : ""}→ ${version(d.version)}`;
  }
  if (r.kind === "read") return `get ${keyOf(name)} → ${version(d.version)}`;
  return name ? `${r.kind} ${name}` : r.kind;
}

/**
 * Renders records as a Mermaid sequence diagram: requests as arrows, replies as dashed
 * arrows, errors as crossed arrows, everything else as notes over the party involved. State
 * writes show the version they replaced and wrote (`set plan v3 → v4`), reads the version they
 * saw (`get plan → v3`). By default the system's own bookkeeping (`active_agents`,
 * `agent_joined` / `agent_left`) is left out; `opts` filters further.
 *
 * @example
 * ```ts
 * writeFileSync("trace.mmd", traceToMermaid(system.trace.records, { keyPrefix: "plan", agents: ["worker"] }));
 * ```
 */
export function traceToMermaid(records: readonly TraceRecord[], opts?: MermaidOptions | number): string {
  // A number is the `limit` of the earlier signature.
  const options: MermaidOptions = typeof opts === "number" ? { limit: opts } : (opts ?? {});
  const slice = filterRecords(records, options);
  const ids = new Map<string, string>();
  const body: string[] = [];
  const who = (name: string): string => {
    let id = ids.get(name);
    if (id === undefined) {
      id = `P${ids.size + 1}`;
      ids.set(name, id);
    }
    return id;
  };
  for (const r of slice) {
    const from = r.from !== undefined ? who(r.from) : undefined;
    const to = r.to !== undefined ? who(r.to) : undefined;
    if (from !== undefined && to !== undefined && from !== to) {
      const arrow = r.kind === "reply" ? "-->>" : r.kind === "error" || r.kind === "timeout" ? "-x" : "->>";
      body.push(`  ${from}${arrow}${to}: ${label(text(r))}`);
    } else if (from !== undefined || to !== undefined) {
      body.push(`  Note over ${(from ?? to)!}: ${label(text(r))}`);
    }
  }
  const head = ["sequenceDiagram"];
  for (const [name, id] of ids) head.push(`  participant ${id} as ${label(name)}`);
  return [...head, ...body].join("\n") + "\n";
}
