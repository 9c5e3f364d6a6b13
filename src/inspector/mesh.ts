import type { MultiAgentSystem } from "../agents/system.js";
import type { CatalogRecord } from "../backends/nats/catalog.js";
import { natsStateStore, type NatsBackend, type NatsStateStore } from "../backends/nats/index.js";
import type { Message } from "../channels/message.js";
import { TraceBuffer } from "../runtime/trace.js";
import type { StateChange } from "../state/types.js";
import { setMeshSource } from "./mesh-source.js";

/** How long a process that left (or went silent) stays listed, so the page can say so. */
const FORGET_AFTER_MS = 60_000;

/** `alive`: rewrote its catalog entry within three intervals; `silent`: missed them; `left`: removed it. */
export type Liveness = "alive" | "silent" | "left";

interface Seen {
  record: CatalogRecord;
  /** Local wall-clock time the record was last written (or removed), as seen here. */
  at: number;
  left: boolean;
}

/**
 * The mesh as an inspector sees it: every process's catalog records with their liveness (read
 * from the catalog bucket the NATS backend keeps, its own watch), namespaces of the shared
 * state found in the bucket, and publications of other processes recorded in the trace so
 * the Messages view shows them. Ages are measured on this process's clock from when it saw a
 * write, as the backend does, so clock skew between machines does not matter.
 * @internal
 */
export class MeshView {
  readonly #system: MultiAgentSystem;
  readonly #backend: NatsBackend;
  readonly #catalog: NatsStateStore;
  readonly #seen = new Map<string, Seen>();
  readonly #offs: (() => void)[] = [];
  #closed = false;

  private constructor(system: MultiAgentSystem, backend: NatsBackend, catalog: NatsStateStore) {
    this.#system = system;
    this.#backend = backend;
    this.#catalog = catalog;
  }

  /**
   * Starts following the mesh of `backend` for `system` (a system built on it), and makes the
   * system's inspector pages show it.
   */
  static async open(system: MultiAgentSystem, backend: NatsBackend): Promise<MeshView> {
    // The bucket the backend's catalog lives in, opened with the backend's own settings.
    const catalog = await natsStateStore(backend.connection, { bucket: `covey_${backend.mesh}_catalog`, keyHistory: 1, historyLimit: 0, follow: true });
    const view = new MeshView(system, backend, catalog);
    view.#start();
    await view.#discoverNamespaces();
    return view;
  }

  /** Every catalog record of the mesh, one row per agent name and process, sorted. */
  agents(): { mesh: string; processId: string; now: number; agents: Record<string, unknown>[] } {
    const now = Date.now();
    const rows: Record<string, unknown>[] = [];
    for (const [key, seen] of this.#seen) {
      const age = now - seen.at;
      const { record } = seen;
      const liveness: Liveness = seen.left ? "left" : age > 3 * record.refreshMs ? "silent" : "alive";
      if (liveness !== "alive" && age > FORGET_AFTER_MS) {
        this.#seen.delete(key);
        continue;
      }
      rows.push({
        name: record.name,
        process: record.process,
        local: record.process === this.#backend.processId,
        description: record.description,
        capabilities: record.capabilities,
        instances: liveness === "left" ? 0 : record.instances,
        subject: record.subject,
        refreshMs: record.refreshMs,
        liveness,
        lastSeenMs: age,
      });
    }
    rows.sort((a, b) => compare(`${String(a["name"])}\u0000${String(a["process"])}`, `${String(b["name"])}\u0000${String(b["process"])}`));
    return { mesh: this.#backend.mesh, processId: this.#backend.processId, now, agents: rows };
  }

  /** Stops following the mesh. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs.splice(0)) off();
    await this.#catalog.close().catch(() => undefined);
  }

  #start(): void {
    this.#offs.push(
      this.#catalog.watch(
        "*",
        (change) => {
          if (change.type === "set") {
            this.#seen.set(change.key, { record: change.entry!.value as CatalogRecord, at: Date.now(), left: false });
          } else {
            const known = this.#seen.get(change.key);
            if (known !== undefined) this.#seen.set(change.key, { record: known.record, at: Date.now(), left: true });
          }
        },
        { includeCurrent: true },
      ),
    );
    // Namespaces have no creation event of their own: a key under a new prefix announces one.
    this.#offs.push(this.#system.state.store.watch("*", (change: StateChange) => this.#namespaceOf(change.key)));
    this.#offs.push(setMeshSource(this.#system, this));
    // Remote publications reach this process's subscribers but not its trace: record them.
    const prefix = this.#backend.idPrefix;
    this.#offs.push(
      this.#system.communication.pubSub.subscribe(">", (m: Message) => {
        const trace = this.#system.trace;
        if (m.id.startsWith(prefix) || !(trace instanceof TraceBuffer)) return;
        trace.record("publish", m.sender, undefined, m.topic, m.id, trace.payloads ? m.payload : undefined);
      }),
    );
  }

  async #discoverNamespaces(): Promise<void> {
    for (const key of await this.#system.state.store.keys()) this.#namespaceOf(key);
  }

  // Store keys are `<length>:<namespace>:<key>`; anything else is left alone.
  #namespaceOf(storeKey: string): void {
    const m = /^(\d{1,6}):/.exec(storeKey);
    if (m === null) return;
    const start = m[0].length;
    const ns = storeKey.slice(start, start + Number(m[1]));
    if (ns.length !== Number(m[1]) || storeKey[start + ns.length] !== ":" || this.#system.state.namespaces.has(ns)) return;
    try {
      this.#system.state.createNamespace(ns);
    } catch {
      // A name the system would not accept: not shown.
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
