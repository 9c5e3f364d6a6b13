import { randomBytes } from "node:crypto";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import type { CatalogEntry } from "../../agents/agent-group.js";
import { ClosedError, ValidationError } from "../../errors.js";
import { describeValue, errorMessage } from "../../runtime/describe.js";
import type { Backend, BackendHost, BackendParts } from "../backend.js";
import { NatsCatalog } from "./catalog.js";
import { mapNats } from "./nats-errors.js";
import { openEventTransport } from "./event-transport.js";
import { natsStateStore, type NatsStateStore } from "./kv-store.js";
import { NatsPublishTransport } from "./publish-transport.js";
import { NatsRequestTransport } from "./request-transport.js";
import { NatsStreamingChannel } from "./streaming.js";
import { NatsSyncManager } from "./sync-manager.js";
import { SyncTable } from "./sync-table.js";
import { Subjects } from "./wire.js";

/** Options of {@link natsBackend}. */
export interface NatsBackendOptions {
  /** The NATS server(s) to connect to, e.g. `"nats://127.0.0.1:4222"`. */
  servers: string | string[];
  /**
   * The mesh to join: processes with the same mesh name share state, agents, catalog and
   * pub-sub. `[A-Za-z0-9_-]+`.
   * @default "covey"
   */
  mesh?: string;
  /** This process's id on the mesh (a subject token, `[A-Za-z0-9_-]+`). @default random */
  processId?: string;
  /** Progress-frame interval of requests; a silent responder fails its callers after three. @default 500 */
  heartbeatMs?: number;
  /**
   * How often this process writes its heartbeat to the mesh's sync bucket. Others judge it gone
   * (its locks, permits and barrier arrivals stop counting) after three missed intervals.
   * @default 1000
   */
  presenceMs?: number;
  /** How often this process rewrites its catalog entries; entries older than three intervals are dropped. @default 2000 */
  catalogRefreshMs?: number;
  /** Revisions the state bucket keeps per key (1..64). @default 16 */
  keyHistory?: number;
  /**
   * Follow the state bucket from the start (see `NatsStateStoreOptions.follow`); `false` makes
   * reads and writes cheaper until the first watch, `keys()` or `history()`.
   * @default true
   */
  followState?: boolean;
  /** Where the mesh's buckets live on the server. @default "file" */
  storage?: "file" | "memory";
  /** More options for `connect()` of `@nats-io/transport-node` (auth, TLS, reconnect policy). */
  connection?: Partial<ConnectionOptions>;
}

/** A {@link Backend} on NATS, with access to what it opened. */
export interface NatsBackend extends Backend {
  readonly kind: "nats";
  /** The mesh name. */
  readonly mesh: string;
  /** This process's id on the mesh. */
  readonly processId: string;
  /** The connection (closed by `system.shutdown()`). */
  readonly connection: NatsConnection;
  /** The mesh's shared state store (bucket `covey_<mesh>_state`). */
  readonly store: NatsStateStore;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** How long shutdown waits for each goodbye to reach the server. */
const CLOSE_BUDGET_MS = 2000;

/** `work`, or nothing once `ms` passed (the timer never keeps the process alive). */
async function withinBudget(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)).unref())]);
  clearTimeout(timer);
}

function checkPresence(ms: unknown): number {
  if (ms === undefined) return 1000;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 10) {
    throw new ValidationError(`presenceMs must be a number >= 10, got ${describeValue(ms)}`, [{ path: ["presenceMs"], message: "must be a number >= 10" }]);
  }
  return ms;
}

function checkToken(value: unknown, what: string): string {
  if (typeof value !== "string" || !TOKEN.test(value)) {
    throw new ValidationError(`${what} must match [A-Za-z0-9_-]+, got ${describeValue(value)}`, [{ path: [what], message: "must match [A-Za-z0-9_-]+" }]);
  }
  return value;
}

/**
 * Connects to NATS and returns a backend that runs a system across processes: every process
 * that joins the same `mesh` shares the state (a JetStream KV bucket), calls agents by name
 * (one subject per name, a queue group across processes), sees one catalog and shares pub-sub.
 * `system.shutdown()` removes this process's catalog entries and closes the connection.
 * Needs nats-server 2.9 or later with JetStream (`nats-server -js`).
 *
 * @example
 * ```ts
 * import { createSystem } from "covey";
 * import { natsBackend } from "covey/nats";
 * const system = createSystem({ backend: await natsBackend({ servers: "nats://127.0.0.1:4222", mesh: "crew" }) });
 * ```
 */
export async function natsBackend(opts: NatsBackendOptions): Promise<NatsBackend> {
  if (opts === null || typeof opts !== "object") throw new ValidationError("natsBackend needs options { servers, mesh? }", [{ path: [], message: "must be an object" }]);
  const servers = opts.servers;
  if (!(typeof servers === "string" || (Array.isArray(servers) && servers.every((s) => typeof s === "string"))) || servers.length === 0) {
    throw new ValidationError(`servers must be a URL or a list of URLs, got ${describeValue(servers)}`, [{ path: ["servers"], message: "must be a string or string[]" }]);
  }
  const mesh = checkToken(opts.mesh ?? "covey", "mesh");
  const processId = checkToken(opts.processId ?? `p${randomBytes(5).toString("hex")}`, "processId");
  const storage = opts.storage ?? "file";
  const presenceMs = checkPresence(opts.presenceMs);
  const nc = await mapNats({ operation: `connect to ${String(servers)}` }, () => connect({ maxReconnectAttempts: -1, ...opts.connection, servers, name: `covey:${mesh}:${processId}` }));
  try {
    const store = await natsStateStore(nc, { bucket: `covey_${mesh}_state`, storage, follow: opts.followState ?? true, ...(opts.keyHistory === undefined ? {} : { keyHistory: opts.keyHistory }) });
    const catalogStore = await natsStateStore(nc, { bucket: `covey_${mesh}_catalog`, storage, keyHistory: 1, historyLimit: 0, follow: true });
    const subjects = new Subjects(mesh);
    const syncStore = await natsStateStore(nc, { bucket: `covey_${mesh}_sync`, storage, keyHistory: 1, historyLimit: 0, follow: true });
    const syncTable = new SyncTable(syncStore, processId);
    await syncTable.start();
    let sync: NatsSyncManager | undefined;
    const catalog = new NatsCatalog(catalogStore, processId, opts.catalogRefreshMs ?? 2000, (name) => subjects.agent(name));
    // Loaded before the system exists, so its first getHistory() already holds the mesh's earlier events.
    const events = await openEventTransport(nc, { mesh, processId, storage });
    let requests: NatsRequestTransport | undefined;
    let publications: NatsPublishTransport | undefined;
    let streaming: NatsStreamingChannel | undefined;
    let closed = false;
    const backend: NatsBackend = {
      kind: "nats",
      idPrefix: `${processId}:`,
      mesh,
      processId,
      connection: nc,
      store,
      attach(host: BackendHost): BackendParts {
        if (requests !== undefined) throw new ValidationError("a NATS backend serves one system; call natsBackend() once per system", []);
        store.useClock(host.runtime.clock);
        catalog.setSource(host.localCatalog);
        requests = new NatsRequestTransport(nc, subjects, processId, host.runtime, opts.heartbeatMs === undefined ? {} : { heartbeatMs: opts.heartbeatMs });
        publications = new NatsPublishTransport(nc, subjects, processId, host.runtime, host.onError);
        streaming = new NatsStreamingChannel(nc, host.runtime, { root: subjects.root, bucket: `covey_${mesh}_streams`, processId, storage, ...(opts.heartbeatMs === undefined ? {} : { heartbeatMs: opts.heartbeatMs }) });
        syncTable.attach(host.runtime, presenceMs);
        sync = new NatsSyncManager(syncTable, host.runtime, (error) => {
          // A release that cannot be written because the connection is gone needs no report:
          // the others judge this process gone by its missing heartbeat and free what it held.
          if (error instanceof ClosedError || nc.isClosed()) return;
          process.emitWarning(`a background sync write failed: ${errorMessage(error)}`, { code: "COVEY_SYNC_WRITE_FAILED" });
        });
        return { store, requestTransport: requests, publishTransport: publications, sync, eventTransport: events, streaming };
      },
      catalog(): CatalogEntry[] {
        return catalog.list();
      },
      async nextInstance(name: string): Promise<number> {
        // A counter per spec name in the sync bucket: one revision-checked increment each.
        const { value } = await syncStore.update<number>(`seq:${name}`, (n) => (n ?? 0) + 1);
        return value;
      },
      agentsChanged(): Promise<void> {
        return catalog.changed();
      },
      closeGrace(): Promise<void> {
        return new Promise((resolve) => setTimeout(resolve, nc.isClosed() ? 0 : CLOSE_BUDGET_MS).unref());
      },
      async close(): Promise<void> {
        if (closed) return;
        closed = true;
        // Goodbyes (catalog entries, releases, the heartbeat record) are best effort: with the
        // server gone each would wait out a request timeout, so together they get a short budget.
        const budget = nc.isClosed() ? 0 : CLOSE_BUDGET_MS;
        requests?.close();
        publications?.close();
        sync?.close();
        await withinBudget(
          Promise.allSettled([
            catalog.close(),
            streaming?.shutdown(),
            events.dispose(),
            (async () => {
              // Releases first, then the heartbeat record: nobody waits for a live-looking holder.
              await sync?.settled().catch(() => undefined);
              await syncTable.close();
            })(),
          ]),
          budget,
        );
        await withinBudget(Promise.allSettled([syncStore.close(), catalogStore.close(), store.close()]), budget / 2);
        if (nc.isClosed()) return;
        await withinBudget(nc.drain().catch(() => undefined), budget / 2);
        if (!nc.isClosed()) await nc.close().catch(() => undefined);
      },
    };
    return backend;
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw error;
  }
}
