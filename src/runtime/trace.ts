import { traceToMermaid, type MermaidOptions } from "./trace-mermaid.js";

export { traceToMermaid } from "./trace-mermaid.js";
export type { MermaidOptions } from "./trace-mermaid.js";

/**
 * One thing that crossed a system: a request, reply, error, publication, event, state write
 * (or read) or lock hand-over.
 */
export interface TraceRecord {
  /** Position in the trace, from 1; never reused, also after old records are dropped. */
  seq: number;
  /** Clock time of the record, in ms. */
  at: number;
  /**
   * What happened: `request`, `reply`, `error`, `publish`, `event`, `state` (a write, recorded
   * at commit), `read` (with `trace: { reads: true }`), `lock`, ...
   */
  kind: string;
  from?: string;
  to?: string;
  /** The subject: an agent name, topic, event type, key (`namespace/key`) or lock id. */
  name?: string;
  correlationId?: string;
  /**
   * Extra summary: for `state`, `{ type: "set", version, previous? }` or
   * `{ type: "delete", previous? }` (`previous`: the version replaced); for `read`,
   * `{ version }` (0: the key was absent). Payloads only with `payloads: true`.
   */
  detail?: unknown;
}

/** Called with each new trace record as it is made. */
export type TraceListener = (record: TraceRecord) => void;

/** A bounded record of what crossed a system, oldest first. */
export interface Trace {
  /** The retained records, oldest first; at most `limit` (default 10000). */
  readonly records: readonly TraceRecord[];
  /** The records as plain data (a copy). */
  toJSON(): TraceRecord[];
  /**
   * A Mermaid `sequenceDiagram` of the records, one participant per agent; `opts` filters
   * them (see {@link MermaidOptions}). Paste it in a ```` ```mermaid ```` block (GitHub renders
   * it) or on mermaid.live.
   */
  toMermaid(opts?: MermaidOptions): string;
  /**
   * Calls `listener` with every record made from now on, synchronously, in order (a live
   * view, e.g. an inspector). A listener that throws is reported as a process warning and
   * never stops the system or the other listeners.
   * @returns an idempotent unsubscribe function
   * @example
   * ```ts
   * const stop = system.trace.subscribe((r) => console.log(r.seq, r.kind, r.name));
   * ```
   */
  subscribe(listener: TraceListener): () => void;
}

/**
 * Where components write trace records. Absent (undefined) when tracing is off, so the hot
 * path pays one `undefined` check and nothing else.
 * @internal
 */
export interface Tracer {
  /** Whether payloads may be attached to records as `detail`. */
  readonly payloads: boolean;
  /** Whether state reads are recorded too (kind `read`). */
  readonly reads: boolean;
  record(kind: string, from?: string, to?: string, name?: string, correlationId?: string, detail?: unknown): void;
}

/** Options of a {@link TraceBuffer}. @internal */
export interface TraceBufferOptions {
  limit?: number;
  payloads?: boolean;
  reads?: boolean;
}

function reportListenerError(error: unknown): void {
  const warning = new Error(`A trace listener threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  warning.name = "CoveyListenerWarning";
  process.emitWarning(warning);
}

/**
 * A ring buffer of trace records: recording is O(1), allocates one small object and never
 * serialises anything; old records are overwritten once `limit` is reached.
 * @internal
 */
export class TraceBuffer implements Trace, Tracer {
  readonly payloads: boolean;
  readonly reads: boolean;
  readonly #limit: number;
  readonly #now: () => number;
  readonly #ring: TraceRecord[] = [];
  #next = 0;
  #seq = 0;
  // Copy-on-write: a listener that unsubscribes while being called does not disturb the loop.
  #listeners: readonly TraceListener[] = [];

  constructor(now: () => number, opts: TraceBufferOptions = {}) {
    this.#now = now;
    this.#limit = Math.max(1, opts.limit ?? 10_000);
    this.payloads = opts.payloads ?? false;
    this.reads = opts.reads ?? false;
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
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(rec);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  get records(): readonly TraceRecord[] {
    if (this.#ring.length < this.#limit) return this.#ring.slice();
    return [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }

  toJSON(): TraceRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  toMermaid(opts: MermaidOptions = {}): string {
    return traceToMermaid(this.records, opts);
  }

  subscribe(listener: TraceListener): () => void {
    if (typeof listener !== "function") throw new TypeError("trace listener must be a function");
    this.#listeners = [...this.#listeners, listener];
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }
}

/** An empty trace, for systems created without tracing. @internal */
export const emptyTrace: Trace = Object.freeze({
  records: Object.freeze([]),
  toJSON: () => [],
  toMermaid: (opts?: MermaidOptions) => traceToMermaid([], opts),
  subscribe: () => () => undefined,
});

/**
 * A tracer for a state store: names keys as the user wrote them (`keyName` turns the store's
 * internal key into e.g. `shared/plan`) and adds to each write the version it replaced
 * (`previous`), so a diagram shows `set plan v3 → v4` and a lost update is visible.
 * @internal
 */
export function stateTracer(inner: Tracer, keyName: (storeKey: string) => string): Tracer {
  // Last version written per store key: what the next write of that key replaces.
  const versions = new Map<string, number>();
  return {
    payloads: inner.payloads,
    reads: inner.reads,
    record(kind, from, to, name, correlationId, detail) {
      if (name === undefined || (kind !== "state" && kind !== "read")) {
        inner.record(kind, from, to, name, correlationId, detail);
        return;
      }
      let d = detail;
      if (kind === "state" && detail !== null && typeof detail === "object") {
        const previous = versions.get(name);
        const written = (detail as { version?: unknown }).version;
        if (typeof written === "number") versions.set(name, written);
        else versions.delete(name);
        if (previous !== undefined) d = { ...detail, previous };
      }
      inner.record(kind, from, to, keyName(name), correlationId, d);
    },
  };
}
