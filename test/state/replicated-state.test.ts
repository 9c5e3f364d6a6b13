import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError, VersionConflictError } from "../../src/errors.js";
import { InMemoryStateStore } from "../../src/state/in-memory-store.js";
import { ReplicatedState } from "../../src/state/replicated-state.js";
import type { StateEntry, StateStore } from "../../src/state/types.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { StepClock } from "../sync/helpers.js";

/** A replica that can be told to fail, and counts the writes it was asked for. */
type FlakyStore = StateStore & { readonly inner: InMemoryStateStore; failing: boolean; writes: number };

const GUARDED = new Set<PropertyKey>(["get", "set", "delete", "compareAndSwap", "update"]);

/**
 * Wraps `inner` without restating the StateStore interface: every method is forwarded, the
 * reading and writing ones fail while `failing` is set, and `before` (if given) runs first,
 * so a test can hold an operation back.
 */
function flaky(inner: InMemoryStateStore, before?: (op: string) => Promise<void>): FlakyStore {
  const control = { inner, failing: false, writes: 0 };
  return new Proxy(control, {
    get(target, prop) {
      if (prop in target) return Reflect.get(target, prop) as unknown;
      const member = Reflect.get(inner, prop) as unknown;
      if (typeof member !== "function") return member;
      return async (...args: unknown[]): Promise<unknown> => {
        if (prop === "set") control.writes++;
        if (before !== undefined && GUARDED.has(prop)) await before(String(prop));
        if (GUARDED.has(prop) && control.failing) throw new Error("replica down");
        return (member as (...a: unknown[]) => unknown).apply(inner, args);
      };
    },
  }) as unknown as FlakyStore;
}

function replicas(n: number, clock = new VirtualClock()): { clock: VirtualClock; stores: FlakyStore[]; record: Record<string, FlakyStore> } {
  const stores = Array.from({ length: n }, () => flaky(new InMemoryStateStore({ clock })));
  return { clock, stores, record: Object.fromEntries(stores.map((s, i) => [`r${i}`, s])) };
}

describe("ReplicatedState#constructor", () => {
  it("refuses an empty set of stores", () => {
    expect(() => new ReplicatedState({ stores: {} })).toThrow(ValidationError);
  });
});

describe("ReplicatedState#get", () => {
  it("reads from the first store, in the record's order, that has the key", async () => {
    const { stores, record } = replicas(3);
    await stores[1]!.inner.set("k", "from r1");
    await stores[2]!.inner.set("k", "from r2");
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.get("k")).toBe("from r1");
    await stores[0]!.inner.set("k", "from r0");
    expect(await replicated.get("k")).toBe("from r0");
    expect(await replicated.get("missing")).toBeUndefined();
  });

  it("skips a failing store, and throws only when every store fails", async () => {
    const { stores, record } = replicas(2);
    await stores[1]!.inner.set("k", 1);
    stores[0]!.failing = true;
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.get("k")).toBe(1);
    stores[1]!.failing = true;
    await expect(replicated.get("k")).rejects.toThrow("replica down");
  });
});

describe("ReplicatedState#setReplicated", () => {
  it("writes to every store and is true when the quorum took it", async () => {
    const { stores, record } = replicas(3);
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.setReplicated("k", { v: 1 }, "writer", 3)).toBe(true);
    for (const s of stores) {
      const entry = await s.inner.get("k");
      expect(entry!.value).toEqual({ v: 1 });
      expect(entry!.updatedBy).toBe("writer");
    }
  });

  it("counts a store whose write throws as failed", async () => {
    const { stores, record } = replicas(3);
    stores[1]!.failing = true;
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.setReplicated("k", 1, "w", 2)).toBe(true);
    expect(await replicated.setReplicated("k", 2, "w", 3)).toBe(false);
    expect(await replicated.setReplicated("k", 3, "w")).toBe(true);
    stores[0]!.failing = true;
    stores[2]!.failing = true;
    expect(await replicated.setReplicated("k", 4, "w")).toBe(false);
  });

  it("rejects a value that is not JSON data before any store is written", async () => {
    const { stores, record } = replicas(2);
    const replicated = new ReplicatedState({ stores: record });
    await expect(replicated.setReplicated("k", { f: () => 1 }, "w")).rejects.toBeInstanceOf(ValidationError);
    await expect(replicated.setReplicated("k", 1n, "w")).rejects.toBeInstanceOf(ValidationError);
    expect(stores.map((s) => s.writes)).toEqual([0, 0]);
  });

  it("rejects a quorum that is not an integer >= 1", async () => {
    const { record } = replicas(1);
    const replicated = new ReplicatedState({ stores: record });
    await expect(replicated.setReplicated("k", 1, "w", 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(replicated.setReplicated("k", 1, "w", 1.5)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("ReplicatedState#syncStores", () => {
  it("makes every store hold the newest value and its writer", async () => {
    const { clock, stores, record } = replicas(3);
    await stores[0]!.inner.set("k", "old", { by: "a" });
    await clock.advance(10);
    await stores[1]!.inner.set("k", "newest", { by: "b" });
    const replicated = new ReplicatedState({ stores: record });
    await replicated.syncStores("k");
    for (const s of stores) {
      const entry = await s.inner.get("k");
      expect(entry!.value).toBe("newest");
      expect(entry!.updatedBy).toBe("b");
    }
  });

  it("does not rewrite stores that already agree", async () => {
    const { stores, record } = replicas(2);
    const replicated = new ReplicatedState({ stores: record });
    await replicated.setReplicated("k", { same: true }, "w");
    const versions = await Promise.all(stores.map(async (s) => (await s.inner.get("k"))!.version));
    await replicated.syncStores("k");
    expect(await Promise.all(stores.map(async (s) => (await s.inner.get("k"))!.version))).toEqual(versions);
  });

  it("does nothing when no store has the key", async () => {
    const { stores, record } = replicas(2);
    await new ReplicatedState({ stores: record }).syncStores("none");
    expect(stores.map((s) => s.writes)).toEqual([0, 0]);
  });

  it("uses the given conflict resolver", async () => {
    const { clock, stores, record } = replicas(2);
    await stores[0]!.inner.set("k", 5, { by: "a" });
    await clock.advance(10);
    await stores[1]!.inner.set("k", 1, { by: "b" });
    const highest = (entries: StateEntry[]): StateEntry => entries.reduce((m, e) => ((e.value as number) > (m.value as number) ? e : m));
    await new ReplicatedState({ stores: record, conflictResolver: highest }).syncStores("k");
    for (const s of stores) expect((await s.inner.get("k"))!.value).toBe(5);
  });

  it("rejects when a store cannot be written", async () => {
    const { stores, record } = replicas(2);
    await stores[0]!.inner.set("k", 1);
    const replicated = new ReplicatedState({ stores: record });
    stores[1]!.failing = true;
    await expect(replicated.syncStores("k")).rejects.toThrow("replica down");
  });
});

describe("ReplicatedState#syncStores (conditional)", () => {
  it("never overwrites a quorum write acknowledged between its read and its copy", async () => {
    const clock = new StepClock();
    const inners = [new InMemoryStateStore({ clock }), new InMemoryStateStore({ clock })];
    await inners[0]!.set("k", "v1", { by: "a" });
    clock.advanceSync(1);
    // Replica 1 is read at once (empty), but its answer reaches the sync only after the quorum
    // write was acknowledged.
    let releaseRead!: () => void;
    const readHeld = new Promise<void>((r) => (releaseRead = r));
    let holdReads = true;
    const slow = new Proxy(flaky(inners[1]!), {
      get(target, prop) {
        const member = Reflect.get(target, prop) as unknown;
        if (prop !== "get" || typeof member !== "function") return member;
        return async (key: string): Promise<unknown> => {
          const entry = await (member as (k: string) => Promise<unknown>)(key);
          if (holdReads) await readHeld;
          return entry;
        };
      },
    });
    const stores = [flaky(inners[0]!), slow];
    const replicated = new ReplicatedState({ stores: { a: stores[0]!, b: stores[1]! } });
    const sync = replicated.syncStores("k");
    await new Promise((r) => setImmediate(r));
    clock.advanceSync(1);
    holdReads = false;
    expect(await replicated.setReplicated("k", "v2", "b", 2)).toBe(true);
    clock.advanceSync(1); // a copy made now would be stamped later than v2
    releaseRead();
    await sync;
    await replicated.syncStores("k");
    for (const inner of inners) expect((await inner.get("k"))?.value).toBe("v2");
  });

  it("gives up with VersionConflictError when writers change the key through every round", async () => {
    const clock = new StepClock();
    const inners = [new InMemoryStateStore({ clock }), new InMemoryStateStore({ clock })];
    await inners[0]!.set("k", 0, { by: "a" });
    let n = 0;
    let copies = 0;
    // Another writer gets in just before every copy, so each copy meets a version it did not read.
    const stores = inners.map((inner) =>
      flaky(inner, async (op) => {
        if (op !== "set") return;
        copies++;
        await inner.set("k", --n, { by: "other" });
      }),
    );
    clock.advanceSync(1);
    const replicated = new ReplicatedState({ stores: { a: stores[0]!, b: stores[1]! } });
    const err = await replicated.syncStores("k", { maxRetries: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(copies).toBe(3); // one copy per round: the first and two retries
    await expect(replicated.syncStores("k", { maxRetries: -1 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("ReplicatedState#syncStores (property)", () => {
  type Op = { kind: "set"; quorum: number; failOn: number[] } | { kind: "sync" };
  const opArb = (n: number): fc.Arbitrary<Op> =>
    fc.oneof(
      fc.record({
        kind: fc.constant("set" as const),
        quorum: fc.integer({ min: 1, max: n }),
        failOn: fc.subarray(Array.from({ length: n }, (_, i) => i)),
      }),
      fc.constant({ kind: "sync" as const }),
    );
  const scenarioArb = fc.integer({ min: 2, max: 3 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      // The stores' starting state: which hold an older value (and how many writes behind).
      initial: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
      ops: fc.array(opArb(n), { minLength: 1, maxLength: 6 }),
    }),
  );

  it("an acknowledged setReplicated survives every interleaving with syncStores", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, { n, initial, ops }) => {
        const clock = new StepClock();
        const inners = Array.from({ length: n }, () => new InMemoryStateStore({ clock }));
        // Start from replicas that disagree: store i holds initial[i] older writes (0: none).
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < initial[i]!; k++) await inners[i]!.set("k", `init-${i}-${k}`, { by: "init" });
          clock.advanceSync(1);
        }
        const failing = new Set<string>(); // `${store}:${value}`: that store refuses that write while it is made
        const stores = inners.map((inner, i) =>
          flaky(inner, async (op) => {
            await s.schedule(Promise.resolve(), `store ${i} ${op}`);
          }),
        );
        // Failure injection by value: a store fails exactly the writes the scenario says.
        const record = Object.fromEntries(
          stores.map((store, i) => [
            `r${i}`,
            new Proxy(store, {
              get(target, prop) {
                const member = Reflect.get(target, prop) as unknown;
                if (prop !== "set" || typeof member !== "function") return member;
                return async (key: string, value: unknown, opts?: object): Promise<unknown> => {
                  if (failing.has(`${i}:${String(value)}`)) {
                    await s.schedule(Promise.resolve(), `store ${i} fails ${String(value)}`);
                    throw new Error("replica down");
                  }
                  return (member as (...a: unknown[]) => unknown)(key, value, opts);
                };
              },
            }),
          ]),
        );
        const replicated = new ReplicatedState({ stores: record });
        let step = 0;
        const writes: { value: string; start: number; end: number; acked: boolean }[] = [];
        const run = async (op: Op, i: number): Promise<void> => {
          await s.schedule(Promise.resolve(), `start ${op.kind} #${i}`);
          clock.advanceSync(1);
          const start = ++step;
          if (op.kind === "sync") {
            // A sync may fail when it copies a value to a store that is refusing it right now.
            await replicated.syncStores("k").catch((e: unknown) => expect(String(e)).toContain("replica down"));
            ++step;
            return;
          }
          const value = `w${i}`;
          for (const f of op.failOn) failing.add(`${f}:${value}`);
          const acked = await replicated.setReplicated("k", value, `writer${i}`, op.quorum);
          for (const f of op.failOn) failing.delete(`${f}:${value}`);
          writes.push({ value, start, end: ++step, acked });
        };
        await s.waitFor(Promise.all(ops.map(run)));
        await s.waitAll();
        // A last sync on its own, then every store must hold one value, and not one that an
        // acknowledged write started after had returned: that write would have been lost.
        const last = replicated.syncStores("k");
        await s.waitFor(last);
        const final = await Promise.all(inners.map((st) => st.get<string>("k")));
        expect(new Set(final.map((e) => `${e?.value}|${e?.updatedBy}`)).size).toBe(1);
        const value = final[0]?.value;
        const winner = writes.find((w) => w.value === value);
        for (const w of writes) {
          if (!w.acked) continue;
          if (winner !== undefined) expect(w.start < winner.end, `${value} ended before acknowledged ${w.value} started`).toBe(true);
          else expect.fail(`acknowledged ${w.value} lost to ${String(value)} from before`);
        }
      }),
      { numRuns: 400 },
    );
  });
});
