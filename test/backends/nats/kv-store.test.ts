import { JetStreamApiError } from "@nats-io/jetstream";
import { afterEach, describe, expect, it } from "vitest";
import { VersionConflictError } from "../../../src/errors.js";
import { natsStateStore, type NatsStateStore } from "../../../src/backends/nats/kv-store.js";
import { stateStoreContract } from "../../state/store-contract.js";
import { withNatsServer } from "./harness.js";

withNatsServer("NatsStateStore", (fixture) => {
  let n = 0;
  const open: NatsStateStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  stateStoreContract("NatsStateStore", async (o) => {
    const store = await natsStateStore(fixture().nc, {
      bucket: `contract_${++n}`,
      clock: o.clock,
      historyLimit: o.historyLimit,
      maxValueBytes: o.maxValueBytes,
      onListenerError: o.onListenerError,
      storage: "memory",
    });
    open.push(store);
    return store;
  });

  // The same contract when the store follows the bucket only from its first watch, keys() or history().
  stateStoreContract("NatsStateStore (follow: false)", async (o) => {
    const store = await natsStateStore(fixture().nc, {
      bucket: `lazy_${++n}`,
      clock: o.clock,
      historyLimit: o.historyLimit,
      maxValueBytes: o.maxValueBytes,
      onListenerError: o.onListenerError,
      storage: "memory",
      follow: false,
    });
    open.push(store);
    return store;
  });
});

withNatsServer("NatsStateStore across connections", (fixture) => {
  let n = 0;
  const stores: NatsStateStore[] = [];
  async function two(): Promise<[NatsStateStore, NatsStateStore]> {
    const bucket = `x_${++n}`;
    const a = await natsStateStore(fixture().nc, { bucket, storage: "memory" });
    const b = await natsStateStore(await fixture().connect(), { bucket, storage: "memory" });
    stores.push(a, b);
    return [a, b];
  }
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  describe("NatsStateStore#set across connections", () => {
    it("maps a lost revision check to VersionConflictError with the JetStream error (10071) as cause", async () => {
      const [a, b] = await two();
      const first = await a.set("k", 1);
      await b.set("k", 2);
      const err: unknown = await a.set("k", 3, { expectedVersion: first.version }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VersionConflictError);
      expect((err as VersionConflictError).actualVersion).toBe((await b.get("k"))!.version);
      expect((err as Error).cause).toBeInstanceOf(JetStreamApiError);
      expect(((err as Error).cause as JetStreamApiError).code).toBe(10071);
    });

    it("lets exactly one of two connections create a key over its delete tombstone", async () => {
      const [a, b] = await two();
      for (let round = 0; round < 20; round++) {
        await a.set("k", "old");
        await a.delete("k");
        const results = await Promise.allSettled([a.set("k", "a", { expectedVersion: 0 }), b.set("k", "b", { expectedVersion: 0 })]);
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const rejected = results.find((r) => r.status === "rejected");
        expect(rejected?.reason).toBeInstanceOf(VersionConflictError);
      }
    });

    it("lets exactly one of many compareAndSwap claims from two connections win", async () => {
      const [a, b] = await two();
      const claims = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).compareAndSwap("lock", undefined, `agent-${i}`));
      expect((await Promise.all(claims)).filter(Boolean)).toHaveLength(1);
    });
  });

  describe("NatsStateStore#watch across connections", () => {
    it("delivers the other connection's changes in commit order with their previous entries", async () => {
      const [a, b] = await two();
      const seen: string[] = [];
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      b.watch("task:*", (c) => {
        seen.push(`${c.type}:${c.key}:${String(c.entry?.value)}:${String(c.previous?.value)}`);
        if (seen.length === 3) done();
      });
      await a.set("task:1", 1);
      await a.set("task:1", 2);
      await a.delete("task:1");
      await all;
      expect(seen).toEqual(["set:task:1:1:undefined", "set:task:1:2:1", "delete:task:1:undefined:2"]);
    });

    it("does not give a watch started after a write returned that write, when nobody watched during it", async () => {
      const [a] = await two();
      const written = await a.set("k", "before");
      const seen: unknown[] = [];
      a.watch("k", (c) => seen.push(c.entry?.value));
      await a.set("k", "after");
      expect(seen).toEqual(["after"]);
      const current: unknown[] = [];
      let ready!: () => void;
      const caughtUp = new Promise<void>((resolve) => (ready = resolve));
      a.watch("k", (c) => current.push(c.entry?.version), { includeCurrent: true, onReady: () => ready() });
      await caughtUp;
      expect(current.length).toBeGreaterThanOrEqual(1);
      expect(current.every((v) => (v as number) > written.version)).toBe(true);
    });
  });
});
