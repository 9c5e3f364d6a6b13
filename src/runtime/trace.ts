/** One thing that crossed a system: a request, reply, error, publication, event, state write or lock hand-over. */
export interface TraceRecord {
  /** Position in the trace, from 1; never reused, also after old records are dropped. */
  seq: number;
  /** Clock time of the record, in ms. */
  at: number;
  /** What happened: `request`, `reply`, `error`, `publish`, `event`, `state`, `lock`, ... */
  kind: string;
  from?: string;
  to?: string;
  /** The subject: an agent name, topic, event type, key or lock id. */
  name?: string;
  correlationId?: string;
  /** Extra summary; payloads only when tracing was created with `payloads: true`. */
  detail?: unknown;
}

/** A bounded record of what crossed a system, oldest first. */
export interface Trace {
  /** The retained records, oldest first; at most `limit` (default 10000). */
  readonly records: readonly TraceRecord[];
  /** The records as plain data (a copy). */
  toJSON(): TraceRecord[];
  /** A Mermaid `sequenceDiagram` of the records, one participant per agent. */
  toMermaid(opts?: { limit?: number }): string;
}

/**
 * Where components write trace records. Absent (undefined) when tracing is off, so the hot
 * path pays one `undefined` check and nothing else.
 * @internal
 */
export interface Tracer {
  /** Whether payloads may be attached to records as `detail`. */
  readonly payloads: boolean;
  record(kind: string, from?: string, to?: string, name?: string, correlationId?: string, detail?: unknown): void;
}

/**
 * A ring buffer of trace records: recording is O(1), allocates one small object and never
 * serialises anything; old records are overwritten once `limit` is reached.
 * @internal
 */
export class TraceBuffer implements Trace, Tracer {
  readonly payloads: boolean;
  readonly #limit: number;
  readonly #now: () => number;
  readonly #ring: TraceRecord[] = [];
  #next = 0;
  #seq = 0;

  constructor(now: () => number, opts: { limit?: number; payloads?: boolean } = {}) {
    this.#now = now;
    this.#limit = Math.max(1, opts.limit ?? 10_000);
    this.payloads = opts.payloads ?? false;
  }

  record(kind: string, from?: string, to?: string, name?: string, correlationId?: string, detail?: unknown): void {
    const rec: TraceRecord = { seq: ++this.#seq, at: this.#now(), kind };
    if (from !== undefined) rec.from = from;
    if (to !== undefined) rec.to = to;
    if (name !== undefined) rec.name = name;
    if (correlationId !== undefined) rec.correlationId = correlationId;
    if (detail !== undefined) rec.detail = detail;
    if (this.#ring.length < this.#limit) this.#ring.push(rec);
    else this.#ring[this.#next] = rec;
    this.#next = (this.#next + 1) % this.#limit;
  }

  get records(): readonly TraceRecord[] {
    if (this.#ring.length < this.#limit) return this.#ring.slice();
    return [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }

  toJSON(): TraceRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  toMermaid(opts: { limit?: number } = {}): string {
    return traceToMermaid(this.records, opts.limit);
  }
}

/** An empty trace, for systems created without tracing. @internal */
export const emptyTrace: Trace = Object.freeze({
  records: Object.freeze([]),
  toJSON: () => [],
  toMermaid: () => traceToMermaid([]),
});

// Mermaid treats "#" and ";" as entity syntax and ":" / newlines as structure.
function label(text: string): string {
  return text.replace(/[#;:\r\n]/g, (c) => (c === "#" ? "#35;" : c === ";" ? "#59;" : c === ":" ? "#58;" : " "));
}

/**
 * Renders records as a Mermaid sequence diagram: requests as arrows, replies as dashed
 * arrows, errors as crossed arrows, everything else as notes over the party involved.
 * `limit` keeps the last `limit` records.
 */
export function traceToMermaid(records: readonly TraceRecord[], limit?: number): string {
  const slice = limit !== undefined && limit < records.length ? records.slice(records.length - limit) : records;
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
    const subject = r.name !== undefined ? label(r.name) : "";
    const from = r.from !== undefined ? who(r.from) : undefined;
    const to = r.to !== undefined ? who(r.to) : undefined;
    if (from !== undefined && to !== undefined && from !== to) {
      const arrow = r.kind === "reply" ? "-->>" : r.kind === "error" || r.kind === "timeout" ? "-x" : "->>";
      body.push(`  ${from}${arrow}${to}: ${label(r.kind)}${subject ? ` ${subject}` : ""}`);
    } else if (from !== undefined || to !== undefined) {
      body.push(`  Note over ${(from ?? to)!}: ${label(r.kind)}${subject ? ` ${subject}` : ""}`);
    }
  }
  const head = ["sequenceDiagram"];
  for (const [name, id] of ids) head.push(`  participant ${id} as ${label(name)}`);
  return [...head, ...body].join("\n") + "\n";
}
