import { headers, type NatsConnection } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { natsBackend } from "../../../src/backends/nats/index.js";
import { createSystem, defineAgent } from "../../../src/index.js";
import { withNatsServer } from "./harness.js";

// The covey side is set up with covey; everything the client does uses only the plain nats.js
// client (@nats-io/transport-node, @nats-io/kv) and what docs/wire.md says.
interface Envelope<T> {
  value: T;
  updatedBy: string;
  timestamp: number;
}
interface CatalogRecord {
  name: string;
  subject: string;
  instances: number;
  inputSchema?: object;
}

const text = (data: Uint8Array): string => new TextDecoder().decode(data);

async function readCatalog(nc: NatsConnection, mesh: string): Promise<CatalogRecord[]> {
  const kv = await new Kvm(nc).open(`covey_${mesh}_catalog`);
  const out: CatalogRecord[] = [];
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (e !== null && e.operation === "PUT") out.push((JSON.parse(text(e.value)) as Envelope<CatalogRecord>).value);
  }
  return out;
}

withNatsServer("the wire format (docs/wire.md)", (fixture) => {
  describe("a plain NATS client, no covey code", () => {
    it("reads the catalog, calls an agent, gets its error replies, reads state and hits no-responders", async () => {
      const system = createSystem({ backend: await natsBackend({ servers: fixture().server.url, mesh: "wire", storage: "memory" }) });
      try {
        await system.addAgent(
          defineAgent({
            name: "math.add",
            description: "Adds two numbers",
            input: z.object({ a: z.number(), b: z.number() }),
            handler: ({ a, b }, ctx) => {
              if (a < 0) throw new RangeError("negative");
              return { sum: a + b, by: ctx.agentId };
            },
          }),
        );
        await system.kv.set("plan", { step: 1 }, { by: "planner" });

        const nc = await fixture().connect();
        // The catalog: one record per (name, process), with the subject to call.
        // addAgent resolved once this process's record was written.
        const records = await readCatalog(nc, "wire");
        const entry = records.find((r) => r.name === "math.add")!;
        expect(entry).toMatchObject({ name: "math.add", instances: 1, subject: "covey.wire.agent.math_2Eadd" });
        expect(entry.inputSchema).toMatchObject({ type: "object" });

        // A call: JSON in, one reply with Covey-Status ok, JSON out.
        const h = headers();
        h.set("Covey-Sender", "python-service");
        const ok = await nc.request(entry.subject, JSON.stringify({ a: 2, b: 3 }), { timeout: 5_000, headers: h });
        expect(ok.headers?.get("Covey-Status")).toBe("ok");
        expect(JSON.parse(text(ok.data))).toEqual({ sum: 5, by: "math.add#1" });

        // The handler failed: Covey-Status error, the error as JSON.
        const failed = await nc.request(entry.subject, JSON.stringify({ a: -1, b: 0 }), { timeout: 5_000 });
        expect(failed.headers?.get("Covey-Status")).toBe("error");
        expect(JSON.parse(text(failed.data))).toMatchObject({ name: "RangeError", message: "negative" });

        // Refused by the contract before the handler ran: code INVALID, direct.
        const refused = await nc.request(entry.subject, JSON.stringify({ a: "x" }), { timeout: 5_000 });
        expect(JSON.parse(text(refused.data))).toMatchObject({ code: "INVALID", direct: true });

        // Nobody serves the name: the server's no-responders status, at once.
        await expect(nc.request("covey.wire.agent.nobody", "{}", { timeout: 5_000 })).rejects.toThrow(/no responders/i);

        // State: the shared namespace's key, escaped, in the state bucket, as an envelope.
        const kv = await new Kvm(nc).open("covey_wire_state");
        // "6:shared:plan" escaped by hand, as docs/wire.md says: ":" is _3A.
        const stored = await kv.get("6_3Ashared_3Aplan");
        expect(JSON.parse(text(stored!.value))).toMatchObject({ value: { step: 1 }, updatedBy: "planner" });
        expect(stored!.revision).toBe((await system.kv.get("plan"))!.version);
      } finally {
        await system.shutdown();
      }
    });

    it("a covey subscriber receives what a plain client publishes on the topic's subject", async () => {
      const system = createSystem({ backend: await natsBackend({ servers: fixture().server.url, mesh: "wire2", storage: "memory" }) });
      try {
        let got!: (v: unknown) => void;
        const received = new Promise((resolve) => (got = resolve));
        system.communication.pubSub.subscribe("task.*.done", (m) => got({ topic: m.topic, payload: m.payload }));
        await system.kv.set("sync", 1); // a round trip on the covey connection: its subscription is in place
        const nc = await fixture().connect();
        const h = headers();
        h.set("Covey-Topic", "task.9.done");
        nc.publish("covey.wire2.pub.task.9.done", JSON.stringify({ ok: 1 }), { headers: h });
        expect(await received).toEqual({ topic: "task.9.done", payload: { ok: 1 } });
      } finally {
        await system.shutdown();
      }
    });
  });
});
