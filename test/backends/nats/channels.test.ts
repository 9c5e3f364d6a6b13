import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSystem, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend, type NatsBackend } from "../../../src/backends/nats/index.js";
import { NatsPublishTransport } from "../../../src/backends/nats/publish-transport.js";
import { SequenceTracker } from "../../../src/backends/nats/sequence-tracker.js";
import { Subjects } from "../../../src/backends/nats/wire.js";
import type { Message } from "../../../src/channels/message.js";
import { createRuntime } from "../../../src/runtime/runtime.js";
import { MessagesDroppedError, NoResponderError } from "../../../src/errors.js";
import { pubSubContract } from "../../channels/pub-sub-contract.js";
import { requestReplyContract, type ContractEnv, type Reported } from "../../channels/request-reply-contract.js";
import { eventually, withNatsServer } from "./harness.js";
import { startNatsServer, type NatsServer } from "./server.js";

// The same contract suites as in-process (test/channels/channels-contract.test.ts), over NATS:
// handle a and handle b are the channels of two systems that joined one mesh, each with its
// own connection, as two processes would. Real time, short timeouts.

withNatsServer("channels over NATS", (fixture) => {
  let meshes = 0;

  async function pair(): Promise<{ systems: [MultiAgentSystem, MultiAgentSystem]; env: ContractEnv }> {
    const mesh = `ch${++meshes}`;
    const opts = { servers: fixture().server.url, mesh, storage: "memory" as const, followState: false };
    const backends: NatsBackend[] = [];
    const systems: MultiAgentSystem[] = [];
    const reports: [Reported[], Reported[]] = [[], []];
    for (let i = 0; i < 2; i++) {
      const backend = await natsBackend(opts);
      const system = createSystem({ backend });
      const list = reports[i]!;
      system.events.eventBus.subscribe("error_occurred", (e) => {
        const p = e.payload as { error?: unknown; topic?: unknown };
        list.push({ error: String(p.error), topic: typeof p.topic === "string" ? p.topic : null });
      });
      backends.push(backend);
      systems.push(system);
    }
    const env: ContractEnv = {
      run: (p) => p,
      until: async (cond) => {
        await eventually(cond, (v) => v, 5_000);
      },
      // A flush is a round trip to the server: every SUB / UNSUB sent before it is in effect.
      propagated: async () => {
        await Promise.all(backends.map((b) => b.connection.flush()));
      },
      now: () => Date.now(),
      // Real timers on a shared machine: a deadline may fire late by event-loop lag.
      lateness: 500,
      remote: true,
      checksPayloads: true,
      reports: (side) => reports[side === "a" ? 0 : 1],
      close: async () => {
        for (const s of systems) await s.shutdown();
      },
    };
    return { systems: [systems[0]!, systems[1]!], env };
  }

  requestReplyContract("NATS, two systems on one mesh", async () => {
    const { systems, env } = await pair();
    return { ...env, a: systems[0].communication.requestReply, b: systems[1].communication.requestReply };
  });

  describe("NatsPublishTransport with subscribers that cannot keep up (maxPending)", () => {
    it("drops what arrives past the bound, reports the first drop at once and the rest when they catch up, and delivers again after", async () => {
      const subjects = new Subjects("bound");
      const reports: { error: unknown; message: Message }[] = [];
      const recvNc = await fixture().connect();
      const receiving = new NatsPublishTransport(recvNc, subjects, "recv", createRuntime({ idPrefix: "recv:" }), (error, message) => void reports.push({ error, message }), { maxPending: 3 });
      const sending = new NatsPublishTransport(await fixture().connect(), subjects, "send", createRuntime({ idPrefix: "send:" }), () => undefined);
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const seen: number[] = [];
      receiving.subscribe("work.>", (m) => {
        seen.push(m.payload as number);
        return gate;
      });
      try {
        // Its subscription is in effect at the server before anything is published.
        await recvNc.flush();
        const message = (i: number): Message => ({ id: `send:msg-${i}`, sender: "boss", pattern: "publish_subscribe", topic: "work.item", payload: i, timestamp: 0 });
        for (let i = 0; i < 10; i++) await sending.publish(message(i), () => undefined);
        await eventually(() => reports.length, (n) => n === 1);
        expect(seen).toEqual([0, 1, 2]);
        expect(reports[0]!.error).toBeInstanceOf(MessagesDroppedError);
        expect(reports[0]!.error).toMatchObject({ count: 1, source: "covey.bound.pub" });
        expect(reports[0]!.message.payload).toBe(3);
        // The subscribers catch up: the rest of the overload is reported in one go.
        await eventually(() => receiving.dropped, (n) => n === 7);
        open();
        await eventually(() => reports.length, (n) => n === 2);
        expect(reports[1]!.error).toMatchObject({ code: "MESSAGES_DROPPED", count: 6 });
        expect(reports[1]!.message.payload).toBe(9);
        await sending.publish(message(10), () => undefined);
        await eventually(() => seen.length, (n) => n === 4);
        expect(seen).toEqual([0, 1, 2, 10]);
        expect(receiving.dropped).toBe(7);
      } finally {
        open();
        receiving.close();
        sending.close();
      }
    });
  });

  pubSubContract("NATS, two systems on one mesh", async () => {
    const { systems, env } = await pair();
    return { ...env, a: systems[0].communication.pubSub, b: systems[1].communication.pubSub, countsOtherSide: false };
  });
});

interface SmallServer {
  readonly url: string;
  readonly log: () => string;
  stop(): Promise<void>;
}

/** A nats-server with the configuration file `config`: own port, own temp dir, stopped by pid. */
async function startConfiguredServer(config: string): Promise<SmallServer> {
  const dir = mkdtempSync(join(tmpdir(), "covey-nats-slow-"));
  const conf = join(dir, "server.conf");
  writeFileSync(conf, config);
  const child = spawn(process.env["NATS_SERVER"] ?? "nats-server", ["-c", conf, "-a", "127.0.0.1", "-p", "-1", "-js", "-sd", dir], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (log += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const check = (): void => {
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m === null) return;
      clearTimeout(timer);
      child.stderr.off("data", check);
      resolve(Number(m[1]));
    };
    child.stderr.on("data", check);
    child.once("exit", (code) => reject(new Error(`nats-server exited with ${String(code)}:\n${log}`)));
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        process.kill(child.pid!, "SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type ChildNote = { type: "ready" } | { type: "blocking" } | { type: "dropped"; dropped: number } | { type: "done"; received: number; dropped: number; reports: string[] };

withNatsServer("slow consumer over NATS", () => {
  let server: SmallServer | undefined;
  beforeAll(async () => {
    // Gives up on a stalled subscriber quickly: a write to it may block for 500 ms (default
    // 10 s) and its buffer may hold 1 MB (default 64 MB) before the server cuts it off as a
    // slow consumer, dropping what it held.
    server = await startConfiguredServer(`max_pending: ${1024 * 1024}\nwrite_deadline: "500ms"\n`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe("NatsPublishTransport with a subscriber that cannot keep up", () => {
    it("reports every publication the server dropped for the slow subscriber, with the count (received + reported = published)", async () => {
      const url = server!.url;
      const mesh = "slow";
      const notes: ChildNote[] = [];
      const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "test/backends/nats/fixtures/slow-subscriber.ts"], {
        env: { ...process.env, NATS_URL: url, COVEY_MESH: mesh, COVEY_BLOCK_MS: "2500" },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      child.on("message", (m: ChildNote) => void notes.push(m));
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const note = async <K extends ChildNote["type"]>(type: K): Promise<Extract<ChildNote, { type: K }>> =>
        (await eventually(() => notes.find((n) => n.type === type), (n) => n !== undefined, 20_000)) as Extract<ChildNote, { type: K }>;
      const publisher = createSystem({ backend: await natsBackend({ servers: url, mesh, storage: "memory", followState: false }) });
      try {
        await note("ready");
        let published = 0;
        const publish = async (topic: string, payload: unknown): Promise<void> => {
          await publisher.communication.pubSub.publish("fast", topic, payload);
          published++;
        };
        await publish("load.block", null);
        await note("blocking");
        // 20 MB while the subscriber is busy: more than the sockets hold, so the server's writes
        // to it block past the 500 ms deadline and it is cut off, losing what was queued.
        const chunk = "x".repeat(32 * 1024);
        for (let i = 0; i < 640; i++) await publish("load.data", { i, chunk });
        // Once the subscriber is back (reconnected), its next publication from here shows the gap.
        const reported = (): boolean => notes.some((n) => n.type === "dropped");
        for (let tries = 0; !reported(); tries++) {
          if (tries >= 150) throw new Error(`no loss reported; notes ${JSON.stringify(notes)}; server log:\n${server!.log().slice(-3000)}`);
          await publish("load.tail", { tries });
          await eventually(reported, (v) => v, 200).catch(() => undefined);
        }
        await publish("load.end", null);
        const done = await note("done");
        expect(server!.log()).toMatch(/Slow Consumer/i);
        expect(done.dropped).toBeGreaterThan(0);
        expect(done.received + done.dropped).toBe(published);
        expect(done.reports.some((r) => /^\d+ messages? from p[0-9a-f]+ (was|were) dropped: publications \d+\.\.\d+ of process/.test(r))).toBe(true);
      } finally {
        child.send({ type: "exit" });
        await exited;
        await publisher.shutdown();
      }
    }, 60_000);
  });
});

withNatsServer("pub-sub across a server restart", () => {
  let server: NatsServer | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe("NatsPublishTransport across a server restart", () => {
    it("reports the publications lost while the server was away, with the count (received + reported = published)", async () => {
      const opts = { servers: server!.url, mesh: "restart", storage: "file" as const, followState: false };
      const publisher = createSystem({ backend: await natsBackend(opts) });
      const subBackend = await natsBackend(opts);
      const subscriber = createSystem({ backend: subBackend });
      try {
        const got: number[] = [];
        let reported = 0;
        subscriber.events.eventBus.subscribe("error_occurred", (e) => {
          const m = /^(\d+) messages? from /.exec(String((e.payload as { error?: unknown }).error));
          if (m !== null) reported += Number(m[1]);
        });
        subscriber.communication.pubSub.subscribe("r.>", (m) => void got.push((m.payload as { i: number }).i));
        await subBackend.connection.flush();
        let published = 0;
        const publish = async (): Promise<void> => {
          await publisher.communication.pubSub.publish("p", "r.x", { i: published });
          published++;
        };
        await publish();
        await eventually(() => got.length, (n) => n === 1);
        await server!.kill(true);
        for (let i = 0; i < 5; i++) await publish();
        await server!.restart();
        const firstAfter = published;
        for (let tries = 0; !got.some((i) => i >= firstAfter); tries++) {
          expect(tries).toBeLessThan(100);
          await publish();
          await eventually(() => got.some((i) => i >= firstAfter), (v) => v, 200).catch(() => undefined);
        }
        await eventually(() => got.length + reported, (n) => n === published);
        expect(reported).toBeGreaterThanOrEqual(5);
        expect(got).toEqual([...got].sort((x, y) => x - y));
      } finally {
        await publisher.shutdown();
        await subscriber.shutdown();
      }
    }, 30_000);
  });
});

withNatsServer("subscriptions the server refuses", () => {
  let server: SmallServer | undefined;
  beforeAll(async () => {
    server = await startConfiguredServer(`authorization {
  users = [
    { user: "covey", password: "covey", permissions: { subscribe: { deny: ["covey.perm.pub.>", "covey.perm.agent.denied"] } } }
  ]
}
`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe("NatsPublishTransport and NatsRequestTransport under a permissions violation", () => {
    it("reports a refused pub-sub subscription on the system (BackendError) and a refused agent subject as a warning", async () => {
      const backend = await natsBackend({ servers: server!.url, mesh: "perm", storage: "memory", followState: false, connection: { user: "covey", pass: "covey" } });
      const system = createSystem({ backend });
      const reports: string[] = [];
      system.events.eventBus.subscribe("error_occurred", (e) => void reports.push(String((e.payload as { error?: unknown }).error)));
      const warnings: Error[] = [];
      const onWarning = (w: Error): void => void warnings.push(w);
      process.on("warning", onWarning);
      try {
        system.communication.pubSub.subscribe("news.>", () => undefined);
        await eventually(() => reports.length, (n) => n > 0);
        expect(reports[0]).toMatch(/^nats: subscribe to covey\.perm\.pub\.> failed: .*[Pp]ermissions [Vv]iolation/);
        system.communication.requestReply.registerHandler("denied", () => "never");
        await eventually(() => warnings.filter((w) => (w as Error & { code?: string }).code === "COVEY_NATS_SUBSCRIPTION_FAILED").length, (n) => n > 0);
        await expect(system.communication.requestReply.request("me", "denied", 1, { timeout: 2_000 })).rejects.toBeInstanceOf(NoResponderError);
      } finally {
        process.off("warning", onWarning);
        await system.shutdown();
      }
    });
  });
});

describe("SequenceTracker", () => {
  it("counts the publications missing between two that arrived, per publisher, and nothing for the first one seen", () => {
    const t = new SequenceTracker();
    expect(t.see("p1", 5)).toBeUndefined();
    expect(t.see("p1", 6)).toBeUndefined();
    const lost = t.see("p1", 10);
    expect(lost).toBeInstanceOf(MessagesDroppedError);
    expect(lost).toMatchObject({ code: "MESSAGES_DROPPED", count: 3, source: "p1" });
    expect(t.see("p2", 1)).toBeUndefined();
    expect(t.see("p2", 3)?.count).toBe(1);
    expect(t.dropped).toBe(4);
  });

  it("follows a publisher whose count starts again, ignores publications without a sequence, and forgets everyone on reset", () => {
    const t = new SequenceTracker();
    t.see("p1", 40);
    expect(t.see("p1", 1)).toBeUndefined();
    expect(t.see("p1", 2)).toBeUndefined();
    expect(t.see("p1", Number.NaN)).toBeUndefined();
    expect(t.see("p1", 3)).toBeUndefined();
    t.reset();
    expect(t.see("p1", 9)).toBeUndefined();
    expect(t.dropped).toBe(0);
  });
});
