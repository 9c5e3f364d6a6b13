import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { createSystem, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend, type NatsBackendOptions } from "../../../src/backends/nats/index.js";
import { openEventTransport } from "../../../src/backends/nats/event-transport.js";
import { ClosedError, TimeoutError, ValidationError } from "../../../src/errors.js";
import { EventType } from "../../../src/events/event-type.js";
import type { CoveyEvent } from "../../../src/events/types.js";
import { eventBusContract } from "../../events/event-bus-contract.js";
import { eventually, withNatsServer } from "./harness.js";

const ids = (events: readonly CoveyEvent[]): string[] => events.map((e) => e.id);

withNatsServer("EventBus over NATS", (fixture) => {
  let meshes = 0;
  const nextMesh = (): string => `ev${++meshes}`;

  /** A system joined to `mesh` (its own connection: another process, as far as NATS can tell). */
  async function join(mesh: string, opts: Partial<NatsBackendOptions> & { historyLimit?: number } = {}): Promise<MultiAgentSystem> {
    const { historyLimit, ...backendOpts } = opts;
    const backend = await natsBackend({ servers: fixture().server.url, mesh, storage: "memory", ...backendOpts });
    return createSystem({ backend, ...(historyLimit === undefined ? {} : { historyLimit }) });
  }

  eventBusContract("two systems on one NATS mesh", async (opts) => {
    const mesh = nextMesh();
    const limit = opts?.historyLimit === undefined ? {} : { historyLimit: opts.historyLimit };
    const a = await join(mesh, limit);
    const b = await join(mesh, limit);
    return {
      a: a.events.eventBus,
      b: b.events.eventBus,
      eventually: (probe, done) => eventually(probe, done, 10_000),
      close: async () => {
        await a.shutdown();
        await b.shutdown();
      },
    };
  });

  describe("the shared history", () => {
    it("shows a process that joins later the events emitted before it, in getHistory right after createSystem", async () => {
      const mesh = nextMesh();
      const a = await join(mesh);
      const late: MultiAgentSystem[] = [];
      try {
        const sent: CoveyEvent[] = [];
        for (let i = 0; i < 5; i++) sent.push(await a.events.emit("early", "note", { i }));
        late.push(await join(mesh));
        expect(ids(late[0]!.events.eventBus.getHistory({ type: "note" }))).toEqual(ids(sent));
        expect(late[0]!.events.eventBus.getHistory({ type: "note" }).map((e) => e.payload)).toEqual(sent.map((e) => e.payload));
        // Retained events are history only: the late process runs no handler for them.
        const seen: string[] = [];
        late[0]!.events.eventBus.subscribe("note", (e) => {
          seen.push(e.id);
        });
        const after = await a.events.emit("early", "note", { i: 5 });
        await eventually(() => seen, (s) => s.length > 0);
        expect(seen).toEqual([after.id]);
      } finally {
        await a.shutdown();
        for (const s of late) await s.shutdown();
      }
    });

    it("stays bounded at historyLimit: in every process and in the stream", async () => {
      const mesh = nextMesh();
      const a = await join(mesh, { historyLimit: 5 });
      const b = await join(mesh, { historyLimit: 5 });
      const late: MultiAgentSystem[] = [];
      try {
        const sent: CoveyEvent[] = [];
        for (let i = 0; i < 12; i++) sent.push(await a.events.emit("s", "tick", { i }));
        const last5 = ids(sent.slice(7));
        expect(await eventually(() => ids(b.events.eventBus.getHistory({ limit: Infinity })), (h) => h.at(-1) === sent[11]!.id)).toEqual(last5);
        expect(ids(a.events.eventBus.getHistory({ limit: Infinity }))).toEqual(last5);
        const jsm = await jetstreamManager(fixture().nc);
        const info = await jsm.streams.info(`covey_${mesh}_events`);
        expect(info.config.max_msgs).toBe(5);
        expect(info.state.messages).toBe(5);
        late.push(await join(mesh, { historyLimit: 5 }));
        expect(ids(late[0]!.events.eventBus.getHistory({ limit: Infinity }))).toEqual(last5);
      } finally {
        await a.shutdown();
        await b.shutdown();
        for (const s of late) await s.shutdown();
      }
    });

    it("resolves every emit even when the stream discards events faster than a consumer reads them (historyLimit 1)", async () => {
      const mesh = nextMesh();
      const a = await join(mesh, { historyLimit: 1 });
      const b = await join(mesh, { historyLimit: 1 });
      try {
        const emits: Promise<CoveyEvent>[] = [];
        for (let i = 0; i < 50; i++) {
          emits.push(a.events.emit("a", "burst", { i }));
          emits.push(b.events.emit("b", "burst", { i }));
        }
        const sent = await Promise.all(emits);
        expect(new Set(ids(sent)).size).toBe(100);
        const last = await b.events.emit("b", "last", {});
        await eventually(() => ids(a.events.eventBus.getHistory()), (h) => h[0] === last.id);
        expect(ids(b.events.eventBus.getHistory())).toEqual([last.id]);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("publishes on covey.<mesh>.events.<type> with the whole event as JSON (docs/wire.md)", async () => {
      const mesh = nextMesh();
      const a = await join(mesh);
      try {
        const sent = await a.events.emit("writer", "order.created", { orderId: 1 });
        const jsm = await jetstreamManager(fixture().nc);
        const stored = await jsm.streams.getMessage(`covey_${mesh}_events`, { last_by_subj: `covey.${mesh}.events.order_2Ecreated` });
        expect(stored).not.toBeNull();
        expect(stored!.json()).toEqual({ ...sent });
        expect(stored!.header.get("Covey-Id")).toBe(sent.id);
        expect(stored!.header.get("Nats-Msg-Id")).toBe(sent.id);
      } finally {
        await a.shutdown();
      }
    });
  });

  describe("a plain NATS client (docs/wire.md)", () => {
    it("emits an event covey handlers receive, and reads covey's events from the stream in order", async () => {
      const mesh = nextMesh();
      const a = await join(mesh);
      try {
        const got: CoveyEvent[] = [];
        a.events.eventBus.subscribe("order.created", (e) => {
          got.push(e);
        });
        const js = jetstream(fixture().nc);
        const body = { id: "billing:1", type: "order.created", source: "billing", timestamp: 1234, payload: { orderId: 9 } };
        const h = headers();
        h.set("Nats-Msg-Id", body.id);
        await js.publish(`covey.${mesh}.events.order_2Ecreated`, JSON.stringify(body), { headers: h });
        await js.publish(`covey.${mesh}.events.order_2Ecreated`, JSON.stringify(body), { headers: h });
        await js.publish(`covey.${mesh}.events.junk`, "not an event");
        const mine = await a.events.emit("shop", "order.created", { orderId: 10 });
        expect(await eventually(() => got.map((e) => e.id), (g) => g.length === 2)).toEqual(["billing:1", mine.id]);
        expect(got[0]).toEqual({ ...body, metadata: {} });

        const consumer = await js.consumers.get(`covey_${mesh}_events`, { deliver_policy: DeliverPolicy.All });
        const read: unknown[] = [];
        for (let i = 0; i < 3; i++) {
          const m = await consumer.next({ expires: 5_000 });
          read.push(m?.subject.endsWith("junk") === true ? "junk" : (m?.json<CoveyEvent>().id ?? null));
        }
        expect(read).toEqual(["billing:1", "junk", mine.id]);
        expect(ids(a.events.eventBus.getHistory({ limit: Infinity }))).toEqual(["billing:1", mine.id]);
      } finally {
        await a.shutdown();
      }
    });
  });

  describe("emit", () => {
    it("refuses a payload that is not JSON data with ValidationError, and sends nothing", async () => {
      const mesh = nextMesh();
      const a = await join(mesh);
      const b = await join(mesh);
      try {
        await expect(a.events.emit("s", "bad", { f: () => 1 })).rejects.toBeInstanceOf(ValidationError);
        await expect(a.events.emit("s", "bad", { n: 10n })).rejects.toBeInstanceOf(ValidationError);
        await expect(a.events.eventBus.emit({ type: "bad", source: "s", metadata: { d: new Date(0) } })).rejects.toBeInstanceOf(ValidationError);
        const mark = await a.events.emit("s", "mark", {});
        await eventually(() => ids(b.events.eventBus.getHistory()), (h) => h.includes(mark.id));
        expect(b.events.eventBus.getHistory({ type: "bad" })).toEqual([]);
        expect(a.events.eventBus.getHistory({ type: "bad" })).toEqual([]);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("rejects with ClosedError after shutdown", async () => {
      const a = await join(nextMesh());
      const bus = a.events.eventBus;
      await a.shutdown();
      await expect(bus.emit({ type: "late", source: "s" })).rejects.toBeInstanceOf(ClosedError);
    });
  });

  describe("NatsEventTransport errors", () => {
    it("are covey errors: TimeoutError while the server does not answer, ClosedError once the connection closed", async () => {
      const nc = await fixture().connect();
      const transport = await openEventTransport(nc, { mesh: nextMesh(), processId: "px", storage: "memory", publishTimeoutMs: 300 });
      const received: string[] = [];
      transport.attach({
        historyLimit: 10,
        receive: (e) => {
          received.push(e.id);
          return undefined;
        },
        retain: () => undefined,
      });
      const event = (id: string): CoveyEvent => ({ id, type: "t", source: "s", timestamp: 0, payload: {}, metadata: {} });
      await transport.publish(event("px:1"));
      expect(received).toEqual(["px:1"]);
      const server = fixture().server;
      await server.kill();
      try {
        const down: unknown = await transport.publish(event("px:2")).catch((e: unknown) => e);
        expect(down).toBeInstanceOf(TimeoutError);
        expect((down as TimeoutError).timeout).toBe(300);
      } finally {
        await server.restart();
      }
      await nc.close();
      await expect(transport.publish(event("px:3"))).rejects.toBeInstanceOf(ClosedError);
      await transport.dispose();
    });
  });

  describe("nats-server restarted mid-run (file storage)", () => {
    it("delivers every event once, in the same order, to both processes", async () => {
      const mesh = nextMesh();
      const server = fixture().server;
      const opts = { storage: "file" as const, connection: { reconnectTimeWait: 100 } };
      const a = await join(mesh, opts);
      const b = await join(mesh, opts);
      const seenByB: string[] = [];
      b.events.eventBus.subscribe("step", (e) => {
        seenByB.push(e.id);
      });
      const N = 60;
      const sent: string[] = [];
      let restarting: Promise<void> | undefined;
      try {
        for (let i = 0; i < N; i++) {
          // The server goes down, and comes back while the emits go on: the next ones meet it
          // down and are sent again (same message id) until it answers.
          if (i === N / 3) {
            await server.kill();
            restarting = server.restart();
          }
          sent.push((await a.events.emit("a", "step", { i })).id);
        }
        expect(restarting).toBeDefined();
        await restarting;
        expect(await eventually(() => [...seenByB], (s) => s.length >= N, 30_000)).toEqual(sent);
        expect(ids(a.events.eventBus.getHistory({ type: "step", limit: Infinity }))).toEqual(sent);
        expect(ids(b.events.eventBus.getHistory({ type: "step", limit: Infinity }))).toEqual(sent);
        // Events after the restart still flow both ways.
        const back = await b.events.emit("b", "step", { i: N });
        await eventually(() => ids(a.events.eventBus.getHistory({ type: "step", limit: Infinity })), (h) => h.at(-1) === back.id);
        expect(seenByB).toHaveLength(N + 1);
      } finally {
        await restarting?.catch(() => undefined);
        await a.shutdown();
        await b.shutdown();
      }
    }, 90_000);
  });

  describe("nats-server restarted (memory storage: the stream is lost)", () => {
    it("recreates the stream and goes on delivering every later event once, in order, to both processes", async () => {
      const mesh = nextMesh();
      const opts = { storage: "memory" as const, connection: { reconnectTimeWait: 100 } };
      const a = await join(mesh, opts);
      const b = await join(mesh, opts);
      const seenByB: string[] = [];
      b.events.eventBus.subscribe("step", (e) => {
        seenByB.push(e.id);
      });
      try {
        const sent: string[] = [];
        for (let i = 0; i < 3; i++) sent.push((await a.events.emit("a", "step", { i })).id);
        await eventually(() => seenByB.length, (n) => n === 3);
        await fixture().server.restart();
        // The first emits after the restart wait (and are sent again) until a process has
        // created the stream anew; the new stream numbers its messages from 1 again.
        for (let i = 3; i < 8; i++) sent.push((await a.events.emit("a", "step", { i })).id);
        sent.push((await b.events.emit("b", "step", { i: 8 })).id);
        expect(await eventually(() => [...seenByB], (s) => s.length >= 9, 30_000)).toEqual(sent);
        expect(ids(b.events.eventBus.getHistory({ type: "step", limit: Infinity }))).toEqual(sent);
        expect(await eventually(() => ids(a.events.eventBus.getHistory({ type: "step", limit: Infinity })), (h) => h.length >= 9)).toEqual(sent);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    }, 90_000);
  });

  describe("ReactiveCoordinator across processes", () => {
    /**
     * Every process runs the default reactions for every event (they are idempotent): once a
     * process's own no-op membership event has run, its reactions to every earlier event have.
     */
    async function settle(...systems: MultiAgentSystem[]): Promise<void> {
      for (const s of systems) await s.events.emit("test", EventType.AGENT_LEFT, { agentId: "nobody-ever-joined" });
    }

    it("marks task:<id>:completed once per event: the emitting process writes it, the others see it", async () => {
      const mesh = nextMesh();
      const a = await join(mesh);
      const b = await join(mesh);
      try {
        await a.events.emit("worker", EventType.TASK_COMPLETED, { taskId: "t1" });
        // The emitter's own reaction has run when emit resolves.
        expect((await b.kv.get("task:t1:completed"))?.value).toBe(true);
        await settle(a, b);
        const writes = await b.kv.history({ key: "task:t1:completed" });
        expect(writes.map((c) => [c.entry?.value, c.entry?.updatedBy])).toEqual([[true, "coordinator"]]);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("tells a process's own events from the others' (isLocal)", async () => {
      const mesh = nextMesh();
      const a = await join(mesh);
      const b = await join(mesh);
      try {
        const seenOnB = b.events.eventBus.once("ping", { timeout: 10_000 });
        const sent = await a.events.emit("a", "ping", {});
        const received = await seenOnB;
        expect(received.id).toBe(sent.id);
        expect(a.events.eventBus.isLocal(sent)).toBe(true);
        expect(b.events.eventBus.isLocal(received)).toBe(false);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it("ends with active_agents correct when agents of two processes join and leave", async () => {
      const mesh = nextMesh();
      const a = await join(mesh);
      const b = await join(mesh);
      try {
        const joined = await Promise.all([
          a.events.emit("a", EventType.AGENT_JOINED, { agentId: "a1" }),
          b.events.emit("b", EventType.AGENT_JOINED, { agentId: "b1" }),
          a.events.emit("a", EventType.AGENT_JOINED, { agentId: "a2" }),
          b.events.emit("b", EventType.AGENT_JOINED, { agentId: "b2" }),
        ]);
        expect(joined).toHaveLength(4);
        await Promise.all([a.events.emit("a", EventType.AGENT_LEFT, { agentId: "a1" }), b.events.emit("b", EventType.AGENT_LEFT, { agentId: "b2" })]);
        await settle(a, b);
        expect([...((await a.kv.get<string[]>("active_agents"))?.value ?? [])].sort()).toEqual(["a2", "b1"]);
        // Rejoining after leaving counts again; a second leave of the same id changes nothing.
        await b.events.emit("b", EventType.AGENT_JOINED, { agentId: "b2" });
        await a.events.emit("a", EventType.AGENT_LEFT, { agentId: "a1" });
        await settle(b, a);
        expect([...((await b.kv.get<string[]>("active_agents"))?.value ?? [])].sort()).toEqual(["a2", "b1", "b2"]);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });
  });
});
