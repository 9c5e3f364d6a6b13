import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { natsStateStore, type NatsStateStore } from "../../../src/backends/nats/kv-store.js";
import { VersionConflictError } from "../../../src/errors.js";
import type { StateEntry, StateStore } from "../../../src/state/types.js";
import { report, runs } from "../../reliability/fc-runtime.js";
import { brokenStore, clientsArb, recordHistory, type OpSpec } from "../../reliability/history.js";
import { checkLinearizable, describeOps, immerRecipe, type Input, type Json, type Operation, type Output } from "../../reliability/linearizability.js";
import { withNatsServer } from "./harness.js";

const CONNECTIONS = 3;

function entryOutput(e: StateEntry): Output {
  return { kind: "entry", value: e.value as Json, version: e.version };
}

async function execute(store: StateStore, key: string, input: Input): Promise<Output> {
  try {
    switch (input.kind) {
      case "get": {
        const e = await store.get(key);
        return e === undefined ? { kind: "absent" } : entryOutput(e);
      }
      case "set":
        return entryOutput(await store.set(key, input.value, input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }));
      case "delete":
        return { kind: "bool", ok: await store.delete(key, input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }) };
      case "cas":
        return { kind: "bool", ok: await store.compareAndSwap(key, input.expected, input.value) };
      case "update":
        return entryOutput(await store.update(key, immerRecipe(input.recipe)));
    }
  } catch (err) {
    if (err instanceof VersionConflictError) return { kind: "conflict" };
    return { kind: "error", name: err instanceof Error ? `${err.name}: ${err.message}` : typeof err };
  }
}

function inputOf(spec: OpSpec, last: { value: Json | undefined; version: number } | undefined): Input {
  switch (spec.kind) {
    case "get":
      return { kind: "get" };
    case "set":
    case "delete": {
      const ev = spec.expect === "none" ? undefined : spec.expect === "zero" ? 0 : spec.expect === "seen" ? (last?.version ?? 0) : 1e9;
      const extra = ev === undefined ? {} : { expectedVersion: ev };
      return spec.kind === "set" ? { kind: "set", value: { n: spec.n }, ...extra } : { kind: "delete", ...extra };
    }
    case "cas":
      return { kind: "cas", expected: spec.casExpect === "seen" ? last?.value : spec.casExpect === "absent" ? undefined : { n: spec.n }, value: { n: spec.n + 10 } };
    case "update":
      return { kind: "update", recipe: spec.recipe };
  }
}

/**
 * Runs every client at once, client i on connection i % stores.length, in real time against
 * the server, and records invocation / response order on one logical counter.
 */
async function recordAcross(stores: readonly StateStore[], clients: readonly OpSpec[][], keyOf: (k: string) => string): Promise<Operation[]> {
  let tick = 0;
  const history: Operation[] = [];
  await Promise.all(
    clients.map(async (specs, client) => {
      const store = stores[client % stores.length]!;
      const seen = new Map<string, { value: Json | undefined; version: number }>();
      for (const spec of specs) {
        const key = keyOf(spec.key);
        const input = inputOf(spec, seen.get(key));
        const call = ++tick;
        const output = await execute(store, key, input);
        const ret = ++tick;
        if (output.kind === "entry") seen.set(key, { value: output.value, version: output.version });
        else if (output.kind === "absent") seen.delete(key);
        history.push({ client, key, input, output, call, ret });
      }
    }),
  );
  return history;
}

withNatsServer("NatsStateStore linearizability", (fixture) => {
  describe("NatsStateStore (linearizability)", () => {
    it("histories recorded from several connections at once are linearizable", async () => {
      const stores: NatsStateStore[] = [];
      for (let i = 0; i < CONNECTIONS; i++) stores.push(await natsStateStore(await fixture().connect(), { bucket: "lin", storage: "memory" }));
      let histories = 0;
      let operations = 0;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(clientsArb(["a", "b", "__proto__"], 6, 8), async (clients) => {
          const prefix = `r${++run}:`;
          const history = await recordAcross(stores, clients, (k) => prefix + k);
          const errors = history.filter((o) => o.output.kind === "error");
          expect(errors, "operations failed with something other than a version conflict").toEqual([]);
          const r = checkLinearizable(history);
          if (!r.ok) throw new Error(`not linearizable on key ${r.key}:\n${describeOps(r.ops!)}`);
          histories++;
          operations += history.length;
        }),
        { numRuns: runs(200, 2000) },
      );
      for (const s of stores) await s.close();
      expect(histories).toBeGreaterThanOrEqual(200);
      console.log(`[covey] NATS linearizability: ${histories} histories (${operations} operations, ${CONNECTIONS} connections), 0 violations`);
      await report("linearizability-nats", { histories, operations, connections: CONNECTIONS, violations: 0 });
    });

    it("the checker still catches the broken store when it runs over NATS", async () => {
      const store = await natsStateStore(fixture().nc, { bucket: "lin_broken", storage: "memory" });
      let run = 0;
      const found = await fc.check(
        fc.asyncProperty(fc.scheduler(), clientsArb(["a"], 3, 6), async (s, clients) => {
          // A fresh key per run: the store is shared, the histories must not be.
          const prefix = `r${++run}:`;
          const scoped: StateStore = {
            get: (k) => store.get(prefix + k),
            set: (k, v, o) => store.set(prefix + k, v, o),
            delete: (k, o) => store.delete(prefix + k, o),
            compareAndSwap: (k, e, v, o) => store.compareAndSwap(prefix + k, e, v, o),
            update: ((k: string, fn: never, o: never) => store.update(prefix + k, fn, o)),
            keys: (p) => store.keys(p),
            watch: (f, l) => store.watch(f, l),
            history: (o) => store.history(o),
          };
          return checkLinearizable(await recordHistory(s, brokenStore(scoped, s), clients)).ok;
        }),
        { numRuns: runs(100, 1000) },
      );
      await store.close();
      expect(found.failed, "the broken store was never caught over NATS").toBe(true);
    });
  });
});
