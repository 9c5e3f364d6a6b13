import { ClosedConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError as NatsTimeoutError } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, JetStreamApiError } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSystem, defineAgent, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend, type NatsBackend } from "../../../src/backends/nats/index.js";
import { fromNats, mapNats } from "../../../src/backends/nats/nats-errors.js";
import { BackendError, ClosedError, CoveyError, HandlerError, NoResponderError, TimeoutError, ValidationError } from "../../../src/errors.js";
import { withNatsServer } from "./harness.js";
import { startNatsServer, type NatsServer } from "./server.js";

/** The rejection of `p` (fails the test when `p` resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe("fromNats", () => {
  const op = { operation: "kv get \"plan\"", timeout: 5_000 };

  it("maps a closed or draining connection to ClosedError, keeping the client's error as cause", () => {
    for (const original of [new ClosedConnectionError(), new DrainingConnectionError(), new RequestError("connection closed")]) {
      const mapped = fromNats(original, op);
      expect(mapped).toBeInstanceOf(ClosedError);
      expect((mapped as ClosedError).message).toContain("kv get");
      expect((mapped as Error).cause).toBe(original);
    }
  });

  it("maps a client timeout, alone or as a RequestError's cause, to TimeoutError with the operation's timeout", () => {
    const alone = new NatsTimeoutError();
    const wrapped = new RequestError("timeout", { cause: new NatsTimeoutError() });
    for (const original of [alone, wrapped]) {
      const mapped = fromNats(original, op);
      expect(mapped).toBeInstanceOf(TimeoutError);
      expect(mapped).toMatchObject({ code: "TIMEOUT", timeout: 5_000, operation: "kv get \"plan\"" });
      expect((mapped as Error).cause).toBe(original);
    }
  });

  it("maps no responders to NoResponderError for a request to a recipient, else to a transient BackendError", () => {
    const original = new RequestError("503", { cause: new NoRespondersError("covey.m.agent.x") });
    const toAgent = fromNats(original, { operation: "request to \"x\"", recipient: "x" });
    expect(toAgent).toBeInstanceOf(NoResponderError);
    expect((toAgent as NoResponderError).subject).toBe("x");
    expect((toAgent as Error).cause).toBe(original);
    const toJetStream = fromNats(new NoRespondersError("$JS.API.INFO"), op);
    expect(toJetStream).toBeInstanceOf(BackendError);
    expect(toJetStream).toMatchObject({ code: "BACKEND_FAILED", backend: "nats", transient: true });
  });

  it("maps a JetStream API error (not a version conflict) and a disconnected request to BackendError", () => {
    const api = new JetStreamApiError({ code: 500, err_code: 10077, description: "maximum messages exceeded" });
    const mapped = fromNats(api, op);
    expect(mapped).toBeInstanceOf(BackendError);
    expect(mapped).toMatchObject({ transient: false, operation: "kv get \"plan\"" });
    expect((mapped as Error).message).toContain("10077");
    expect((mapped as Error).cause).toBe(api);
    const disconnected = fromNats(new RequestError("connection disconnected"), op);
    expect(disconnected).toBeInstanceOf(BackendError);
    expect(disconnected).toMatchObject({ transient: true });
  });

  it("returns covey errors and errors that are not the client's unchanged", async () => {
    const covey = new ValidationError("bad");
    const own = new RangeError("handler's own");
    expect(fromNats(covey, op)).toBe(covey);
    expect(fromNats(own, op)).toBe(own);
    expect(fromNats("a string", op)).toBe("a string");
    await expect(mapNats(op, () => Promise.reject(new ClosedConnectionError()))).rejects.toBeInstanceOf(ClosedError);
    await expect(mapNats(op, () => Promise.resolve(7))).resolves.toBe(7);
  });
});

withNatsServer("NATS errors mapped at the boundary", (fixture) => {
  let meshes = 0;
  async function system(): Promise<{ system: MultiAgentSystem; backend: NatsBackend }> {
    const backend = await natsBackend({ servers: fixture().server.url, mesh: `err${++meshes}`, storage: "memory", followState: false });
    return { system: createSystem({ backend }), backend };
  }

  describe("what the client raises, as the backend's callers see it", () => {
    it("a client request timeout becomes TimeoutError and no responders NoResponderError, cause kept", async () => {
      const nc = fixture().nc;
      const silent = nc.subscribe("covey.errtest.silent", { callback: () => undefined });
      try {
        await nc.flush();
        const timedOut = fromNats(await rejection(nc.request("covey.errtest.silent", undefined, { timeout: 50 })), { operation: "request", timeout: 50 });
        expect(timedOut).toBeInstanceOf(TimeoutError);
        expect((timedOut as Error).cause).toBeInstanceOf(Error);
        expect(((timedOut as Error).cause as Error).name).toMatch(/Timeout/);
        const nobody = fromNats(await rejection(nc.request("covey.errtest.nobody", undefined, { timeout: 1_000 })), { operation: "request", recipient: "nobody" });
        expect(nobody).toBeInstanceOf(NoResponderError);
      } finally {
        silent.unsubscribe();
      }
    });

    it("JetStream API errors and a publish no stream takes become BackendError, cause kept", async () => {
      const nc = fixture().nc;
      const jsm = await jetstreamManager(nc);
      const missing = await rejection(jsm.streams.info("no_such_stream"));
      const mapped = fromNats(missing, { operation: "stream info" });
      expect(mapped).toBeInstanceOf(BackendError);
      expect(mapped).toMatchObject({ transient: false });
      expect((mapped as Error).message).toContain("10059");
      expect((mapped as Error).cause).toBe(missing);
      const unrouted = await rejection(jetstream(nc).publish("covey.errtest.no_stream", new Uint8Array(0), { timeout: 1_000 }));
      const mappedPublish = fromNats(unrouted, { operation: "publish" });
      expect(mappedPublish).toBeInstanceOf(BackendError);
      expect(mappedPublish).toMatchObject({ transient: true });
      expect((mappedPublish as Error).cause).toBe(unrouted);
    });

    it("a request in flight when the connection closes becomes ClosedError", async () => {
      const nc = await fixture().connect();
      const silent = nc.subscribe("covey.errtest.hang", { callback: () => undefined });
      await nc.flush();
      const pending = rejection(nc.request("covey.errtest.hang", undefined, { timeout: 10_000 }));
      await nc.close();
      const mapped = fromNats(await pending, { operation: "request" });
      expect(mapped).toBeInstanceOf(ClosedError);
      silent.unsubscribe();
    });
  });

  describe("malformed messages from plain NATS clients", () => {
    it("answers a request whose body is not JSON with an INVALID error reply, and a caller gets ValidationError for a reply that is not JSON", async () => {
      const a = await system();
      const mesh = `err${meshes}`;
      const nc = fixture().nc;
      const raw = nc.subscribe(`covey.${mesh}.agent.plain`, { callback: (_err, m) => void m.respond(new TextEncoder().encode("not json {")) });
      try {
        await a.system.addAgent(defineAgent({ name: "echo", handler: (x: unknown) => x }));
        await nc.flush();
        const reply = await nc.request(`covey.${mesh}.agent.echo`, new TextEncoder().encode("{broken"), { timeout: 2_000 });
        expect(reply.headers?.get("Covey-Status")).toBe("error");
        expect(reply.json()).toMatchObject({ name: "ValidationError", code: "INVALID", direct: true });
        const err = await rejection(a.system.communication.requestReply.request("me", "plain", 1, { timeout: 2_000 }));
        expect(err).toBeInstanceOf(HandlerError);
        expect((err as HandlerError).cause).toBeInstanceOf(ValidationError);
        expect(((err as HandlerError).cause as ValidationError).message).toBe('reply from "plain" is not JSON');
      } finally {
        raw.unsubscribe();
        await a.system.shutdown();
      }
    });
  });

  describe("a system whose connection closed under it", () => {
    it("rejects calls, publishes, handler registrations and subscriptions with ClosedError (cause: the client's error)", async () => {
      const a = await system();
      try {
        await a.system.addAgent(defineAgent({ name: "echo", handler: (x: unknown) => x }));
        await a.backend.connection.close();
        const call = await rejection(a.system.call("echo", { n: 1 }, { timeout: 2_000 }));
        expect(call).toBeInstanceOf(ClosedError);
        expect((call as Error).cause).toBeInstanceOf(ClosedConnectionError);
        const published = await rejection(a.system.communication.pubSub.publish("me", "t.x", 1));
        expect(published).toBeInstanceOf(ClosedError);
        expect((published as Error).cause).toBeInstanceOf(ClosedConnectionError);
        expect(() => a.system.communication.requestReply.registerHandler("other", () => 1)).toThrow(ClosedError);
        expect(() => a.system.communication.pubSub.subscribe("t.>", () => undefined)).toThrow(ClosedError);
      } finally {
        // Not asserted here: shutting down over a closed connection (the event bus's last emits
        // reject with ClosedError).
        await a.system.shutdown().catch(() => undefined);
      }
    });

    it("refuses new handlers and subscriptions with ClosedError while the connection drains", async () => {
      const a = await system();
      try {
        const draining = a.backend.connection.drain();
        let thrown: unknown;
        try {
          a.system.communication.requestReply.registerHandler("late", () => 1);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(ClosedError);
        expect((thrown as Error).cause).toBeInstanceOf(DrainingConnectionError);
        await draining;
      } finally {
        await a.system.shutdown();
      }
    });
  });

  describe("a server that stops mid-request", () => {
    let server: NatsServer | undefined;
    beforeAll(async () => {
      server = await startNatsServer();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("fails the waiting caller with a typed error within about two seconds, and later calls too", async () => {
      const opts = { servers: server!.url, mesh: "stop", storage: "file" as const, followState: false, heartbeatMs: 200 };
      const caller = createSystem({ backend: await natsBackend(opts) });
      const responder = createSystem({ backend: await natsBackend(opts) });
      try {
        let started = false;
        await responder.addAgent(
          defineAgent({
            name: "hang",
            handler: async () => {
              started = true;
              await new Promise(() => undefined);
            },
          }),
        );
        const outcome = rejection(caller.call("hang", {}, { timeout: 30_000 }));
        for (let i = 0; !started; i++) {
          expect(i).toBeLessThan(500);
          await new Promise((resolve) => setImmediate(resolve));
        }
        const stoppedAt = Date.now();
        await server!.kill(true);
        const error = await outcome;
        expect(error).toBeInstanceOf(CoveyError);
        expect(error).toBeInstanceOf(ClosedError);
        expect(Date.now() - stoppedAt).toBeLessThan(2_500);
        const later = await rejection(caller.call("hang", {}, { timeout: 30_000 }));
        expect(later).toBeInstanceOf(CoveyError);
        // A state write with the server down fails once JetStream's 5 s request timeout passes;
        // the store maps it to covey's TimeoutError with the client's error as cause.
        const mapped = await rejection(caller.kv.set("k", 1));
        expect(mapped).toBeInstanceOf(TimeoutError);
        expect((mapped as Error).message).toContain("kv set");
        const cause = (mapped as Error).cause;
        expect(cause).toBeInstanceOf(Error);
        expect(cause).not.toBeInstanceOf(CoveyError);
        expect((cause as Error).name).toBe("TimeoutError");
      } finally {
        // The server comes back (file storage keeps the mesh's buckets), so shutting down does
        // not wait out every background write's timeout.
        await server!.restart();
        await caller.shutdown();
        await responder.shutdown();
      }
    }, 30_000);
  });
});

describe("natsBackend with no server to reach", () => {
  it("rejects with BackendError (cause: the client's connection error), not a NATS class", async () => {
    const err = await natsBackend({ servers: "nats://127.0.0.1:1", mesh: "nowhere" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).transient).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect((err as Error).cause).not.toBeInstanceOf(CoveyError);
  });
});

describe("shutdown when the server is gone", () => {
  it("resolves after the connection closed under the system, and within a few seconds with the server down", async () => {
    const server = await startNatsServer();
    try {
      const closedUnder = await natsBackend({ servers: server.url, mesh: "gone", storage: "memory" });
      const one = createSystem({ backend: closedUnder });
      await one.addAgent(defineAgent({ name: "a", handler: () => 1 }));
      await one.sync.getLock("l").acquire("x");
      await closedUnder.connection.close();
      await expect(one.shutdown()).resolves.toBeUndefined();

      const two = createSystem({ backend: await natsBackend({ servers: server.url, mesh: "gone", storage: "memory" }) });
      await two.addAgent(defineAgent({ name: "b", handler: () => 1 }));
      await two.sync.getLock("l2").acquire("y");
      await server.stop();
      const started = Date.now();
      await expect(two.shutdown()).resolves.toBeUndefined();
      // Goodbyes that cannot reach the server get a bounded budget, not each a request timeout.
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      await server.stop().catch(() => undefined);
    }
  }, 30_000);
});
