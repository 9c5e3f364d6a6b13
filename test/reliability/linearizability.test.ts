import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InMemoryStateStore, NamespacedState, type StateStore } from "../../src/state/index.js";
import { fcRuntime, report, runs } from "./fc-runtime.js";
import { brokenStore, clientsArb, recordHistory } from "./history.js";
import { checkLinearizable, describeOps, type Operation } from "./linearizability.js";

const KEYS = ["a", "b", "__proto__"];

/** A history of two sequential operations on one key, for the checker's own tests. */
function op(call: number, ret: number, input: Operation["input"], output: Operation["output"], client = 0): Operation {
  return { client, key: "k", input, output, call, ret };
}

describe("checkLinearizable", () => {
  it("accepts a sequential history that follows the model", () => {
    const h = [
      op(1, 2, { kind: "set", value: { n: 1 } }, { kind: "entry", value: { n: 1 }, version: 1 }),
      op(3, 4, { kind: "update", recipe: "increment" }, { kind: "entry", value: { n: 2 }, version: 2 }),
      op(5, 6, { kind: "get" }, { kind: "entry", value: { n: 2 }, version: 2 }),
      op(7, 8, { kind: "delete", expectedVersion: 2 }, { kind: "bool", ok: true }),
      op(9, 10, { kind: "set", value: { n: 0 } }, { kind: "entry", value: { n: 0 }, version: 3 }),
    ];
    expect(checkLinearizable(h).ok).toBe(true);
  });

  it("rejects a lost update (two increments that both saw the same value)", () => {
    const h = [
      op(1, 2, { kind: "set", value: { n: 1 } }, { kind: "entry", value: { n: 1 }, version: 1 }),
      op(3, 6, { kind: "update", recipe: "increment" }, { kind: "entry", value: { n: 2 }, version: 2 }, 1),
      op(4, 5, { kind: "update", recipe: "increment" }, { kind: "entry", value: { n: 2 }, version: 3 }, 2),
    ];
    expect(checkLinearizable(h).ok).toBe(false);
  });

  it("rejects a version reused after delete and a stale read after a completed write", () => {
    const reused = [
      op(1, 2, { kind: "set", value: { n: 1 } }, { kind: "entry", value: { n: 1 }, version: 1 }),
      op(3, 4, { kind: "delete" }, { kind: "bool", ok: true }),
      op(5, 6, { kind: "set", value: { n: 1 } }, { kind: "entry", value: { n: 1 }, version: 1 }),
    ];
    expect(checkLinearizable(reused).ok).toBe(false);
    const stale = [
      op(1, 2, { kind: "set", value: { n: 1 } }, { kind: "entry", value: { n: 1 }, version: 1 }),
      op(3, 4, { kind: "set", value: { n: 2 } }, { kind: "entry", value: { n: 2 }, version: 2 }),
      op(5, 6, { kind: "get" }, { kind: "entry", value: { n: 1 }, version: 1 }),
    ];
    expect(checkLinearizable(stale).ok).toBe(false);
  });

  it("accepts overlapping operations in either order, and a CAS whose version shows up later", () => {
    const h = [
      op(1, 6, { kind: "set", value: { n: 1 } }, { kind: "entry", value: { n: 1 }, version: 4 }, 1),
      op(2, 5, { kind: "get" }, { kind: "absent" }, 2),
      op(3, 4, { kind: "cas", expected: undefined, value: { n: 9 } }, { kind: "bool", ok: true }, 3),
      op(7, 8, { kind: "get" }, { kind: "entry", value: { n: 1 }, version: 4 }),
      op(9, 10, { kind: "cas", expected: { n: 1 }, value: { n: 5 } }, { kind: "bool", ok: true }),
      op(11, 12, { kind: "set", value: { n: 6 }, expectedVersion: 7 }, { kind: "entry", value: { n: 6 }, version: 8 }),
    ];
    expect(checkLinearizable(h).ok).toBe(true);
  });
});

async function checkStore(name: string, makeStore: (s: fc.Scheduler) => StateStore): Promise<void> {
  let histories = 0;
  let operations = 0;
  let explored = 0;
  let unexpected = 0;
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), clientsArb(KEYS, 4, 8), async (s, clients) => {
      const history = await recordHistory(s, makeStore(s), clients);
      const errors = history.filter((o) => o.output.kind === "error");
      unexpected += errors.length;
      expect(errors, "operations failed with something other than a version conflict").toEqual([]);
      const r = checkLinearizable(history);
      if (!r.ok) throw new Error(`not linearizable on key ${r.key}:\n${describeOps(r.ops!)}`);
      histories++;
      operations += history.length;
      explored += r.explored;
    }),
    { numRuns: runs(300, 5000) },
  );
  await report(`linearizability-${name}`, { histories, operations, explored, violations: 0, unexpectedErrors: unexpected });
}

describe("InMemoryStateStore (linearizability)", () => {
  it("every recorded concurrent history of get/set/delete/compareAndSwap/update is linearizable", async () => {
    await checkStore("in-memory", (s) => new InMemoryStateStore({ runtime: fcRuntime(s).runtime }));
  });

  it("a namespace view is linearizable too", async () => {
    await checkStore("namespace-view", (s) => {
      const state = new NamespacedState(new InMemoryStateStore({ runtime: fcRuntime(s).runtime }));
      state.createNamespace("shared");
      return state.namespace("shared");
    });
  });

  it("the checker catches a store that checks, awaits, then writes", async () => {
    let histories = 0;
    let caught = 0;
    let example: string | undefined;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), clientsArb(["a"], 3, 6), async (s, clients) => {
        const store = brokenStore(new InMemoryStateStore({ runtime: fcRuntime(s).runtime }), s);
        const r = checkLinearizable(await recordHistory(s, store, clients));
        histories++;
        if (!r.ok) {
          caught++;
          example ??= describeOps(r.ops!);
        }
      }),
      { numRuns: runs(300, 3000) },
    );
    expect(caught, "the broken store was never caught").toBeGreaterThan(0);
    expect(example).toBeDefined();
    await report("linearizability-broken-store", { histories, caught });

    // And fast-check, asked to find one, finds (and shrinks) a violating interleaving.
    const found = await fc.check(
      fc.asyncProperty(fc.scheduler(), clientsArb(["a"], 3, 6), async (s, clients) => {
        const store = brokenStore(new InMemoryStateStore({ runtime: fcRuntime(s).runtime }), s);
        return checkLinearizable(await recordHistory(s, store, clients)).ok;
      }),
      { numRuns: runs(300, 3000) },
    );
    expect(found.failed).toBe(true);
  });
});
