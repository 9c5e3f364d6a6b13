import { spawn } from "node:child_process";
import { getEventListeners } from "node:events";
import { createInbox, headers as natsHeaders, type Msg } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSystem, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend, type NatsBackend } from "../../../src/backends/nats/index.js";
import { NatsStreamingChannel } from "../../../src/backends/nats/streaming.js";
import { ClosedError, TimeoutError, ValidationError } from "../../../src/errors.js";
import { createRuntime } from "../../../src/runtime/runtime.js";
import { streamingContract, type StreamingPair } from "../../channels/streaming-contract.js";
import { eventually, withNatsServer } from "./harness.js";
import { startNatsServer, type NatsServer } from "./server.js";

withNatsServer("streams over NATS", (fixture) => {
  let meshes = 0;
  const backendsOf = new WeakMap<MultiAgentSystem, NatsBackend>();
  function backendOf(system: MultiAgentSystem): NatsBackend {
    return backendsOf.get(system)!;
  }

  /** Two systems on a fresh mesh; a short heartbeat (200 ms) where a test waits for liveness. */
  async function systems(heartbeatMs = 200): Promise<{ mesh: string; backends: NatsBackend[]; systems: MultiAgentSystem[] }> {
    const mesh = `streams${++meshes}`;
    const backends: NatsBackend[] = [];
    const list: MultiAgentSystem[] = [];
    for (let i = 0; i < 2; i++) {
      const backend = await natsBackend({ servers: fixture().server.url, mesh, storage: "memory", heartbeatMs });
      backends.push(backend);
      const system = createSystem({ backend });
      backendsOf.set(system, backend);
      list.push(system);
    }
    return { mesh, backends, systems: list };
  }

  function channel(system: MultiAgentSystem): NatsStreamingChannel {
    const c = system.communication.streaming;
    if (!(c instanceof NatsStreamingChannel)) throw new Error("the system does not stream over NATS");
    return c;
  }

  async function pair(swap: boolean): Promise<StreamingPair> {
    // The default heartbeat: no contract test waits for liveness, and a busy machine must not
    // make a stalled event loop look like a dead process.
    const { systems: [s1, s2] } = await systems(500);
    const [x, y] = swap ? [s2!, s1!] : [s1!, s2!];
    return {
      a: x.communication.streaming,
      b: y.communication.streaming,
      info: (id) => channel(x).fetchInfo(id),
      created: (side, id) => (side as NatsStreamingChannel).created(id),
      idle: () => [channel(x), channel(y)].every((c) => c.inFlight.calls === 0 && c.inFlight.served === 0 && c.inFlight.unacked === 0),
      elapse: () => Promise.resolve(),
      close: async () => {
        await s1!.shutdown();
        await s2!.shutdown();
      },
    };
  }

  // Each side in turn starts the streams (so hosts them): every operation runs both locally and remotely.
  streamingContract("NatsStreamingChannel (first side hosts)", () => pair(false));
  streamingContract("NatsStreamingChannel (second side hosts)", () => pair(true));

  describe("NatsStreamingChannel", () => {
    it("rejects data that is not JSON with ValidationError, before it leaves the process", async () => {
      const { systems: [s1, s2] } = await systems();
      try {
        await expect(s1!.communication.streaming.send("j", new Date())).rejects.toBeInstanceOf(ValidationError);
        await expect(s2!.communication.streaming.send("j", { ok: [1, "two"] })).resolves.toBeUndefined();
        await expect(s1!.communication.streaming.receive("j")).resolves.toEqual({ ok: [1, "two"] });
      } finally {
        await s1!.shutdown();
        await s2!.shutdown();
      }
    });

    it("fails waits on a stream fast with ClosedError when its host process dies, then hosts the stream afresh", async () => {
      const mesh = `streams${++meshes}`;
      // The host: another process, killed with SIGKILL (no goodbye of any kind).
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", HOST_PROGRAM], {
        cwd: process.cwd(),
        env: { ...process.env, NATS_URL: fixture().server.url, COVEY_MESH: mesh },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const ready = new Promise<void>((resolve, reject) => {
        let out = "";
        child.stdout.setEncoding("utf8");
        child.stdout.on("data", (chunk: string) => {
          out += chunk;
          if (out.includes("ready")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`the host process exited with ${String(code)}`)));
      });
      const backend = await natsBackend({ servers: fixture().server.url, mesh, storage: "memory", heartbeatMs: 200 });
      const system = createSystem({ backend });
      const other = createSystem({ backend: await natsBackend({ servers: fixture().server.url, mesh, storage: "memory", heartbeatMs: 200 }) });
      try {
        await ready;
        const streams = channel(system);
        const blocked = streams.send("full", "waits", { timeout: 30_000 });
        const waiting = streams.receive("empty", { timeout: 30_000 });
        const settled = Promise.allSettled([blocked, waiting]);
        // Both wait at the host.
        const infos = await waitFor(
          () => Promise.all([streams.fetchInfo("full"), streams.fetchInfo("empty")]),
          ([full, empty]) => full?.blockedSenders === 1 && empty?.waitingReceivers === 1,
        );
        expect(infos).toMatchObject([{ blockedSenders: 1, buffered: 1 }, { waitingReceivers: 1 }]);
        const killedAt = Date.now();
        process.kill(child.pid!, "SIGKILL");
        const [s1, s2] = await settled;
        const noticedAfter = Date.now() - killedAt;
        expect(s1).toMatchObject({ status: "rejected", reason: expect.any(ClosedError) as unknown });
        expect(s2).toMatchObject({ status: "rejected", reason: expect.any(ClosedError) as unknown });
        // Three heartbeats of 200 ms, not the 30 s timeout.
        expect(noticedAfter).toBeLessThan(2_000);
        // The next operation finds the host gone; the one after starts the stream afresh, hosted here.
        await expect(streams.send("full", "lost?")).rejects.toBeInstanceOf(ClosedError);
        await streams.send("full", "fresh");
        expect(streams.info("full")).toMatchObject({ buffered: 1, highWaterMark: 16 });
        await expect(other.communication.streaming.receive("full", { timeout: 5_000 })).resolves.toBe("fresh");
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await system.shutdown();
        await other.shutdown();
      }
    });

    it("withdraws the waits of a caller process that dies, so they take no item and send none", async () => {
      const { mesh, systems: [s1, s2] } = await systems();
      const streams = channel(s1!);
      streams.createStream("victim");
      streams.createStream("full", { highWaterMark: 1 });
      await streams.send("full", "held");
      // The caller: another process, killed with SIGKILL while it waits on streams hosted here.
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CALLER_PROGRAM], {
        cwd: process.cwd(),
        env: { ...process.env, NATS_URL: fixture().server.url, COVEY_MESH: mesh },
        stdio: ["ignore", "ignore", "inherit"],
      });
      try {
        await waitFor(
          () => Promise.resolve([streams.info("victim"), streams.info("full")]),
          ([victim, full]) => victim?.waitingReceivers === 1 && full?.blockedSenders === 1,
        );
        const killedAt = Date.now();
        process.kill(child.pid!, "SIGKILL");
        await waitFor(
          () => Promise.resolve([streams.info("victim"), streams.info("full")]),
          ([victim, full]) => victim?.waitingReceivers === 0 && full?.blockedSenders === 0,
        );
        expect(Date.now() - killedAt).toBeLessThan(2_000);
        // The dead receiver takes nothing, the dead sender sends nothing.
        await s2!.communication.streaming.send("victim", "for the living");
        await expect(streams.receive("victim", { timeout: 0 })).resolves.toBe("for the living");
        await expect(streams.receive("full", { timeout: 0 })).resolves.toBe("held");
        await expect(streams.receive("full", { timeout: 0 })).resolves.toBeUndefined();
        expect(streams.inFlight).toEqual({ calls: 0, served: 0, unacked: 0 });
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await s1!.shutdown();
        await s2!.shutdown();
      }
    });

    it("puts an item back at the head when its receiver never acknowledges it (a plain NATS client)", async () => {
      const { backends, systems: [s1, s2] } = await systems();
      const raw = await fixture().connect();
      try {
        const host = backends[0]!;
        const streams = s1!.communication.streaming;
        streams.createStream("ack", { highWaterMark: 4 });
        for (const item of ["first", "second"]) await streams.send("ack", item);
        // A receive as any NATS client can send it (docs/wire.md, "Streams"): it gets the item and never acks.
        const inbox = createInbox();
        const answered = new Promise<Msg>((resolve) => {
          raw.subscribe(inbox, { max: 1, callback: (_err, m) => resolve(m) });
        });
        const h = natsHeaders();
        h.set("Covey-Timeout", "1000");
        raw.publish(`covey.${host.mesh}.stream.${host.processId}.receive.ack`, new Uint8Array(0), { reply: inbox, headers: h });
        const m = await answered;
        expect(m.headers?.get("Covey-Status")).toBe("ok");
        expect(m.json()).toEqual({ item: "first" });
        expect(streams.info("ack")).toMatchObject({ buffered: 1 });
        // Three heartbeats later the item is back at the head, before "second".
        await eventually(() => streams.info("ack")?.buffered, (n) => n === 2);
        await expect(s2!.communication.streaming.receive("ack")).resolves.toBe("first");
        await expect(s2!.communication.streaming.receive("ack")).resolves.toBe("second");
        // An acknowledged item stays taken: covey receivers ack, so nothing comes back.
        await streams.send("ack", "third");
        await expect(s2!.communication.streaming.receive("ack")).resolves.toBe("third");
        await expect(s2!.communication.streaming.receive("ack", { timeout: 1_000 })).resolves.toBeUndefined();
      } finally {
        await s1!.shutdown();
        await s2!.shutdown();
      }
    });

    it("ends a remote receive with undefined when its system shuts down, and the host keeps the next item for others", async () => {
      const { systems: [host, leaving] } = await systems();
      try {
        const streams = channel(host!);
        streams.createStream("bye");
        const waiting = leaving!.communication.streaming.receive("bye");
        await waitFor(() => streams.fetchInfo("bye"), (info) => info?.waitingReceivers === 1);
        await leaving!.shutdown();
        await expect(waiting).resolves.toBeUndefined();
        // The gone receiver's wait was withdrawn at the host: it takes nothing.
        await waitFor(() => streams.fetchInfo("bye"), (info) => info?.waitingReceivers === 0);
        await streams.send("bye", "kept");
        await expect(streams.receive("bye", { timeout: 0 })).resolves.toBe("kept");
        expect(streams.inFlight).toEqual({ calls: 0, served: 0, unacked: 0 });
      } finally {
        await host!.shutdown();
        await leaving!.shutdown();
      }
    });

    it("rejects remote senders blocked on a stream when its host shuts down; the stream then starts afresh elsewhere", async () => {
      const { systems: [host, user] } = await systems();
      try {
        const streams = channel(user!);
        host!.communication.streaming.createStream("moving", { highWaterMark: 1 });
        await host!.communication.streaming.send("moving", "held");
        const blocked = streams.send("moving", "blocked");
        await waitFor(() => streams.fetchInfo("moving"), (info) => info?.blockedSenders === 1);
        const refused = expect(blocked).rejects.toBeInstanceOf(ClosedError);
        await host!.shutdown();
        await refused;
        // The host left (its claims deleted): the next operation reports it, the one after hosts the stream here.
        await expect(streams.send("moving", "x")).rejects.toBeInstanceOf(ClosedError);
        await streams.send("moving", "fresh");
        expect(streams.info("moving")).toMatchObject({ buffered: 1 });
        await expect(streams.receive("moving")).resolves.toBe("fresh");
      } finally {
        await host!.shutdown();
        await user!.shutdown();
      }
    });

    it("gives up the claim of a stream that ended long ago; a process with a stale route follows the stream to its new host", async () => {
      const { mesh, systems: [s1, s2] } = await systems();
      const s3 = createSystem({ backend: await natsBackend({ servers: fixture().server.url, mesh, storage: "memory", heartbeatMs: 200 }) });
      const raw = await fixture().connect();
      try {
        const a = channel(s1!);
        a.createStream("old.0");
        await a.created("old.0");
        a.closeStream("old.0");
        // s2 learns that s1 hosts it (and that it ended).
        await expect(s2!.communication.streaming.receive("old.0")).resolves.toBeUndefined();
        await expect(s2!.communication.streaming.send("old.0", "late")).rejects.toBeInstanceOf(ClosedError);
        // 1,024 more streams end on s1: "old.0" is no longer remembered there, and its claim goes.
        for (let i = 1; i <= 1024; i += 64) {
          const ids = Array.from({ length: Math.min(64, 1025 - i) }, (_, k) => `old.${i + k}`);
          for (const id of ids) a.createStream(id);
          await Promise.all(ids.map((id) => a.created(id)));
          for (const id of ids) a.closeStream(id);
        }
        const kv = await new Kvm(raw).open(`covey_${mesh}_streams`);
        await waitFor(() => kv.get("old_2E0"), (e) => e === null || e.operation !== "PUT");
        expect((await kv.get("old_2E1"))?.json()).toEqual({ owner: backendOf(s1!).processId });
        // Another process uses the id: it hosts the stream afresh.
        await s3.communication.streaming.send("old.0", "new");
        expect(channel(s3).info("old.0")).toMatchObject({ buffered: 1, closed: false });
        // s2 still routes "old.0" to s1, which sends it on to s3.
        await expect(s2!.communication.streaming.receive("old.0", { timeout: 5_000 })).resolves.toBe("new");
      } finally {
        await s1!.shutdown();
        await s2!.shutdown();
        await s3.shutdown();
      }
    });

    it("ends an operation cancelled while the asked process claims its stream (a plain NATS client)", async () => {
      const { backends, systems: [s1, s2] } = await systems();
      const raw = await fixture().connect();
      try {
        const host = backends[0]!;
        // s1 never used "fresh": asked anyway, it claims the stream before serving; the cancel comes meanwhile.
        const inbox = createInbox();
        const answered = new Promise<Msg>((resolve) => {
          raw.subscribe(inbox, { max: 1, callback: (_err, m) => resolve(m) });
        });
        raw.publish(`covey.${host.mesh}.stream.${host.processId}.receive.fresh`, new Uint8Array(0), { reply: inbox });
        raw.publish(`covey.${host.mesh}.stream.${host.processId}.ctl`, JSON.stringify({ reply: inbox, kind: "cancel", reason: "abort" }));
        const m = await answered;
        expect(m.headers?.get("Covey-Status")).toBe("error");
        expect(m.json()).toMatchObject({ name: "AbortError" });
        // Nothing waits at the host: the next item stays for real receivers.
        await s2!.communication.streaming.send("fresh", "kept");
        await expect(s1!.communication.streaming.receive("fresh", { timeout: 0 })).resolves.toBe("kept");
        expect(channel(s1!).inFlight).toEqual({ calls: 0, served: 0, unacked: 0 });
      } finally {
        await s1!.shutdown();
        await s2!.shutdown();
      }
    });

    it("lets exactly one process host a stream both start at the same moment", async () => {
      const { systems: [s1, s2] } = await systems();
      try {
        const [a, b] = [channel(s1!), channel(s2!)];
        const ids = Array.from({ length: 20 }, (_, i) => `race.${i}`);
        await Promise.all(ids.flatMap((id) => [a.send(id, `a:${id}`), b.send(id, `b:${id}`)]));
        for (const id of ids) {
          // One host holds both items.
          expect([a.info(id), b.info(id)].filter((info) => info !== undefined)).toEqual([expect.objectContaining({ buffered: 2 })]);
          const got = [await a.receive(id), await b.receive(id)];
          expect(got.sort()).toEqual([`a:${id}`, `b:${id}`]);
        }
      } finally {
        await s1!.shutdown();
        await s2!.shutdown();
      }
    });

    it("bounds created() by its timeout and signal when the host does not answer", async () => {
      const { mesh, systems: [s1, s2] } = await systems();
      const raw = await fixture().connect();
      try {
        // A "host" that listens and never answers, named in the claims bucket.
        raw.subscribe(`covey.${mesh}.stream.ghost.>`, { callback: () => undefined });
        await raw.flush();
        const kv = await new Kvm(raw).open(`covey_${mesh}_streams`);
        await kv.create("silent", JSON.stringify({ owner: "ghost" }));
        const streams = channel(s1!);
        streams.createStream("silent", { highWaterMark: 2 });
        await expect(streams.created("silent", { timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
        const ac = new AbortController();
        const aborted = streams.created("silent", { signal: ac.signal });
        ac.abort("no more");
        await expect(aborted).rejects.toBe("no more");
        expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
        // The silent host fails the create after three heartbeats; created() then reports it.
        await expect(streams.created("silent")).rejects.toBeInstanceOf(ClosedError);
        expect(streams.inFlight).toEqual({ calls: 0, served: 0, unacked: 0 });
      } finally {
        await s1!.shutdown();
        await s2!.shutdown();
      }
    });

    it("gives up the claim of a stream made on first use once it stayed idle, and claims it again when used", async () => {
      const mesh = `streams${++meshes}`;
      const nc = await fixture().connect();
      const raw = await fixture().connect();
      const streams = new NatsStreamingChannel(nc, createRuntime(), { root: `covey.${mesh}`, bucket: `covey_${mesh}_streams`, processId: "solo", storage: "memory", heartbeatMs: 200, releaseAfterMs: 50 });
      try {
        await streams.send("idle", 1);
        await streams.send("kept", 1);
        const kv = await new Kvm(raw).open(`covey_${mesh}_streams`);
        expect((await kv.get("idle"))?.json()).toEqual({ owner: "solo" });
        await expect(streams.receive("idle")).resolves.toBe(1);
        // "idle" holds nothing now; "kept" still holds an item.
        await waitFor(() => kv.get("idle"), (e) => e === null || e.operation !== "PUT");
        expect((await kv.get("kept"))?.json()).toEqual({ owner: "solo" });
        await streams.send("idle", 2);
        expect((await kv.get("idle"))?.json()).toEqual({ owner: "solo" });
        await expect(streams.receive("idle")).resolves.toBe(2);
      } finally {
        await streams.shutdown();
      }
    });

    it("refuses another highWaterMark for a stream hosted elsewhere on the next operation", async () => {
      const { systems: [s1, s2] } = await systems();
      try {
        s1!.communication.streaming.createStream("h", { highWaterMark: 2 });
        await s1!.communication.streaming.send("h", 1);
        s2!.communication.streaming.createStream("h", { highWaterMark: 3 });
        // The operation issued while the options travel waits for them and gets the refusal.
        await expect(s2!.communication.streaming.send("h", 2)).rejects.toBeInstanceOf(ValidationError);
        await expect(s2!.communication.streaming.receive("h")).resolves.toBe(1);
        channel(s2!).createStream("h", { highWaterMark: 4 });
        await expect(channel(s2!).created("h")).rejects.toBeInstanceOf(ValidationError);
        channel(s2!).createStream("h", { highWaterMark: 2 });
        await expect(channel(s2!).created("h")).resolves.toBeUndefined();
      } finally {
        await s1!.shutdown();
        await s2!.shutdown();
      }
    });
  });
});

/** The caller process of the death test: waits on "victim" (receive) and "full" (send), hosted by the test. */
const CALLER_PROGRAM = `
const root = process.cwd();
const { natsBackend } = await import(root + "/src/backends/nats/index.ts");
const { createSystem } = await import(root + "/src/index.ts");
const system = createSystem({ backend: await natsBackend({ servers: process.env.NATS_URL, mesh: process.env.COVEY_MESH, storage: "memory", heartbeatMs: 200 }) });
const streams = system.communication.streaming;
void streams.receive("victim");
void streams.send("full", "from the dead");
setInterval(() => undefined, 60_000);
`;

/** Resolves with `probe()`'s value once `done(value)` holds, checking every 10 ms; fails after 5 s. */
async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const end = Date.now() + 5_000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`condition not met within 5 s; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The host process of the death test: hosts "full" (holding one item, highWaterMark 1) and "empty". */
const HOST_PROGRAM = `
const root = process.cwd();
const { natsBackend } = await import(root + "/src/backends/nats/index.ts");
const { createSystem } = await import(root + "/src/index.ts");
const system = createSystem({ backend: await natsBackend({ servers: process.env.NATS_URL, mesh: process.env.COVEY_MESH, storage: "memory", heartbeatMs: 200 }) });
const streams = system.communication.streaming;
streams.createStream("full", { highWaterMark: 1 });
await streams.send("full", "held");
streams.createStream("empty");
await streams.receive("empty", { timeout: 0 });
console.log("ready");
setInterval(() => undefined, 60_000);
`;

withNatsServer("streams across a server restart", () => {
  let server: NatsServer | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("keeps the items a host buffered and serves them, none lost or doubled, once the connections are back", async () => {
    const opts = { servers: server!.url, mesh: "srestart", storage: "file" as const, heartbeatMs: 200 };
    const host = createSystem({ backend: await natsBackend(opts) });
    const user = createSystem({ backend: await natsBackend(opts) });
    try {
      const streams = host.communication.streaming as NatsStreamingChannel;
      streams.createStream("r", { highWaterMark: 8 });
      await streams.created("r");
      for (let i = 0; i < 3; i++) await user.communication.streaming.send("r", i);
      await server!.restart();
      // Operations sent while the connections come back may fail (the host gave no sign of
      // life): an item handed over meanwhile goes back to the head when its answer finds nobody.
      const got: unknown[] = [];
      for (let tries = 0; got.length < 3; tries++) {
        expect(tries).toBeLessThan(100);
        try {
          const item = await user.communication.streaming.receive("r", { timeout: 2_000 });
          if (item !== undefined) got.push(item);
        } catch (error) {
          expect(error).toBeInstanceOf(ClosedError);
        }
      }
      expect(got).toEqual([0, 1, 2]);
      await user.communication.streaming.send("r", "after");
      await expect(streams.receive("r")).resolves.toBe("after");
      await eventually(() => streams.inFlight.unacked, (n) => n === 0);
      expect(streams.info("r")).toMatchObject({ buffered: 0 });
    } finally {
      await host.shutdown();
      await user.shutdown();
    }
  }, 30_000);
});
