import type { ServerResponse } from "node:http";
import type { MultiAgentSystem } from "../agents/system.js";
import type { Trace, TraceRecord } from "../runtime/trace.js";
import type { StateChange } from "../state/types.js";
import { changeRow } from "./snapshot.js";
import { toWire } from "./wire.js";

/** Where the inspector reads the system's trace: what is retained, and new records as they come. @internal */
export type RecordSource = Pick<Trace, "records" | "subscribe">;

/** Bytes a slow page may leave unread before its batches are dropped (and counted). */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024;

interface Client {
  readonly res: ServerResponse;
  readonly batches: Map<string, unknown[]>;
  scheduled: boolean;
  dropped: number;
}

/** A record as the page receives it; details are cut to a preview. @internal */
export function recordRow(r: TraceRecord): Record<string, unknown> {
  const row: Record<string, unknown> = { seq: r.seq, at: r.at, kind: r.kind };
  if (r.from !== undefined) row["from"] = r.from;
  if (r.to !== undefined) row["to"] = r.to;
  if (r.name !== undefined) row["name"] = r.name;
  if (r.correlationId !== undefined) row["correlationId"] = r.correlationId;
  if (r.detail !== undefined) row["detail"] = toWire(r.detail, 2048);
  return row;
}

/**
 * The pages' live feed over server-sent events: new trace records, state changes (through a
 * watch on every namespace) and events. It subscribes only while a page is connected, so an
 * inspector nobody looks at adds nothing to the system's hot paths; sends are batched per
 * macrotask turn.
 * @internal
 */
export class LiveFeed {
  readonly #system: MultiAgentSystem;
  readonly #source: RecordSource;
  readonly #clients = new Set<Client>();
  readonly #watched = new Map<string, () => void>();
  #offs: (() => void)[] = [];

  constructor(system: MultiAgentSystem, source: RecordSource) {
    this.#system = system;
    this.#source = source;
  }

  /** Pages connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Opens the event stream on `res`: first what the trace retains, then everything new. */
  add(res: ServerResponse, hello: Record<string, unknown>): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-content-type-options": "nosniff",
    });
    const client: Client = { res, batches: new Map(), scheduled: false, dropped: 0 };
    if (this.#clients.size === 0) this.#attach();
    this.#clients.add(client);
    res.on("close", () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#detach();
    });
    write(client, "hello", { ...hello, records: this.#source.records.map(recordRow) });
  }

  /**
   * Starts watching namespaces created since the last look. A namespace found late is watched
   * from its current values, so a page sees the keys written before the watch began.
   */
  refreshNamespaces(): void {
    if (this.#offs.length === 0) return; // nobody is looking
    const late = this.#watched.size > 0;
    for (const ns of this.#system.state.namespaces) {
      if (this.#watched.has(ns)) continue;
      const listener = (change: StateChange): void => this.#send("state", changeRow(ns, change));
      this.#watched.set(ns, this.#system.state.namespace(ns).watch("*", listener, late ? { includeCurrent: true } : undefined));
    }
  }

  /** Ends every page's stream and every subscription. */
  close(): void {
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
    this.#detach();
  }

  #attach(): void {
    this.#offs.push(this.#source.subscribe((r) => this.#send("trace", recordRow(r))));
    // Namespaces have no creation event: look for new ones once a second while a page is open.
    const timer = setInterval(() => this.refreshNamespaces(), 1000);
    timer.unref();
    this.#offs.push(() => clearInterval(timer));
    if (!this.#system.closed) {
      this.#offs.push(this.#system.events.eventBus.subscribe("*", (e) => this.#send("event", toWire(e, 4096))));
    }
    this.refreshNamespaces();
  }

  #detach(): void {
    for (const off of this.#offs) off();
    this.#offs = [];
    for (const off of this.#watched.values()) off();
    this.#watched.clear();
  }

  #send(kind: string, item: unknown): void {
    for (const c of this.#clients) {
      let batch = c.batches.get(kind);
      if (batch === undefined) c.batches.set(kind, (batch = []));
      batch.push(item);
      if (!c.scheduled) {
        c.scheduled = true;
        setImmediate(() => flush(c));
      }
    }
  }
}

function flush(c: Client): void {
  c.scheduled = false;
  const batches = [...c.batches];
  c.batches.clear();
  if (c.res.destroyed || c.res.writableEnded) return;
  for (const [kind, items] of batches) {
    if (c.res.writableLength > MAX_UNREAD_BYTES) {
      c.dropped += items.length;
      continue;
    }
    write(c, kind, items);
  }
  if (c.dropped > 0 && c.res.writableLength <= MAX_UNREAD_BYTES) {
    write(c, "dropped", { count: c.dropped });
    c.dropped = 0;
  }
}

function write(c: Client, event: string, data: unknown): void {
  c.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
