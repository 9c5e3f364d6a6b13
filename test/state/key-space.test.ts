import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError, VersionConflictError } from "../../src/errors.js";
import { InMemoryStateStore } from "../../src/state/in-memory-store.js";
import { prefixLength } from "../../src/state/key-space.js";
import { NamespacedState } from "../../src/state/namespaced-state.js";
import { namespacePrefix } from "../../src/state/namespace-view.js";
import type { StateStore } from "../../src/state/types.js";
import { PassThroughStore } from "./pass-through-store.js";

describe("prefixLength", () => {
  it("finds the namespace prefix a store key starts with", () => {
    expect(prefixLength("6:shared:task:1")).toBe(9);
    expect(prefixLength("3:a:b:c")).toBe(6);
    expect(prefixLength("1:a:b:c")).toBe(4);
    expect(prefixLength("10:0123456789:x")).toBe(14);
  });

  it("is 0 for a key with no prefix, a malformed one, or nothing after it", () => {
    for (const key of ["task:1", "", "1", "1:", "1:a", "1:a:", "2:a:b", "01:a:x", ":a:x", "x1:a:b", "1:ab:c", "99999999999999999:a:b"]) {
      expect(prefixLength(key)).toBe(0);
    }
  });

  it("agrees with namespacePrefix for any namespace and key", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (ns, key) => {
        const prefix = namespacePrefix(ns);
        expect(prefixLength(prefix + key)).toBe(prefix.length);
      }),
    );
  });
});

describe("InMemoryStateStore namespaces", () => {
  it("moves keys written under a prefix before its namespace existed into the namespace", async () => {
    const store = new InMemoryStateStore();
    const early = await store.set(`${namespacePrefix("ns")}k`, { n: 1 });
    await store.set("plain", 1);
    const state = new NamespacedState(store);
    state.createNamespace("ns");
    const seen = await state.namespace("ns").get<{ n: number }>("k");
    expect(seen?.value).toBe(early.value);
    expect(seen?.version).toBe(early.version);
    expect(await state.listKeys("ns")).toEqual(["k"]);
    expect(await store.keys()).toEqual([`${namespacePrefix("ns")}k`, "plain"]);
  });

  it("serves a namespace's keys to the whole store by full key, and back", async () => {
    const store = new InMemoryStateStore();
    const state = new NamespacedState(store);
    state.createNamespace("a");
    const kv = state.namespace("a");
    const written = await kv.set("k", "v", { by: "view" });
    const full = await store.get<string>("1:a:k");
    expect(full).toMatchObject({ key: "1:a:k", value: "v", version: written.version, updatedBy: "view" });
    expect(full?.checksum).toBe(written.checksum);

    await store.set("1:a:k", "w", { expectedVersion: written.version });
    expect((await kv.get<string>("k"))?.value).toBe("w");
    await expect(kv.set("k", "x", { expectedVersion: written.version })).rejects.toBeInstanceOf(VersionConflictError);

    expect(await store.delete("1:a:k")).toBe(true);
    expect(await kv.get("k")).toBeUndefined();
    const again = await kv.set("k", "y");
    expect(again.version).toBeGreaterThan(written.version + 1);
  });

  it("lists keys across the root and every namespace, sorted, for any prefix", async () => {
    const store = new InMemoryStateStore();
    const state = new NamespacedState(store);
    for (const ns of ["a", "ab", "b"]) state.createNamespace(ns);
    await state.set("a", "x", 1);
    await state.set("ab", "y", 1);
    await state.set("b", "z", 1);
    await store.set("1:zz", 1);
    await store.set("plain", 1);
    expect(await store.keys()).toEqual(["1:a:x", "1:b:z", "1:zz", "2:ab:y", "plain"]);
    expect(await store.keys("1:")).toEqual(["1:a:x", "1:b:z", "1:zz"]);
    expect(await store.keys("1:a")).toEqual(["1:a:x"]);
    expect(await store.keys("1:a:x")).toEqual(["1:a:x"]);
    expect(await store.keys("2")).toEqual(["2:ab:y"]);
    expect(store.size).toBe(5);
  });

  it("reuses one frozen scoped entry per stored entry, under the namespace's key", async () => {
    const state = new NamespacedState();
    state.createNamespace("ns");
    const kv = state.namespace("ns");
    const set = await kv.set("k", { n: 1 });
    const a = await kv.get<{ n: number }>("k");
    const b = await kv.get<{ n: number }>("k");
    expect(a).toBe(set);
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a?.key).toBe("k");
    const next = await kv.update<{ n: number }>("k", (d) => void (d!.n += 1));
    const after = await kv.get("k");
    expect(await kv.get("k")).toBe(after);
    expect(after?.key).toBe("k");
    expect(after?.version).toBe(next.version);
    // The update's own result shares the stored value: nothing was copied for it.
    expect(next.value).toBe(after?.value);
    expect(next.value).toEqual({ n: 2 });
  });

  it("still copies, freezes, validates and size-limits what a namespace view writes", async () => {
    const state = new NamespacedState(new InMemoryStateStore({ maxValueBytes: 20 }));
    state.createNamespace("ns");
    const kv = state.namespace("ns");
    const mine = { list: [1, 2] };
    const entry = await kv.set("k", mine);
    mine.list.push(3);
    expect(entry.value).toEqual({ list: [1, 2] });
    expect(Object.isFrozen(entry.value)).toBe(true);
    expect(Object.isFrozen(entry.value.list)).toBe(true);
    await expect(kv.set("k", { f: () => 1 })).rejects.toBeInstanceOf(ValidationError);
    // Errors name the key as the caller wrote it, never the store's internal encoding.
    await expect(kv.set("k", { s: "x".repeat(20) })).rejects.toThrow(/^Value for key "k" is \d+ bytes/);
    await expect(kv.update("k", () => ({ s: "x".repeat(20) }))).rejects.toBeInstanceOf(ValidationError);
    expect((await kv.get("k"))?.version).toBe(entry.version);
  });
});

type Op =
  | { kind: "set"; ns: number; key: string; value: number }
  | { kind: "update"; ns: number; key: string }
  | { kind: "delete"; ns: number; key: string }
  | { kind: "cas"; ns: number; key: string; value: number };

const NAMESPACES = ["a", "a:b", "1", "1:a"];
const keyArb = fc.constantFrom("k", "b:k", "a:k", "1:a:k", "2:a:b:k", "x");
// ns -1 is the whole store, written with full keys.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), ns: fc.integer({ min: -1, max: 3 }), key: keyArb, value: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("update" as const), ns: fc.integer({ min: -1, max: 3 }), key: keyArb }),
  fc.record({ kind: fc.constant("delete" as const), ns: fc.integer({ min: -1, max: 3 }), key: keyArb }),
  fc.record({ kind: fc.constant("cas" as const), ns: fc.integer({ min: -1, max: 3 }), key: keyArb, value: fc.integer({ min: 0, max: 3 }) }),
);

async function apply(store: StateStore, state: NamespacedState, op: Op): Promise<unknown> {
  const target = op.ns < 0 ? store : state.namespace(NAMESPACES[op.ns]!);
  try {
    switch (op.kind) {
      case "set":
        return { version: (await target.set(op.key, op.value)).version };
      case "update":
        return { version: (await target.update<number>(op.key, (n) => (n ?? 0) + 1)).version };
      case "delete":
        return await target.delete(op.key);
      case "cas":
        return await target.compareAndSwap(op.key, op.value - 1, op.value);
    }
  } catch (err) {
    return (err as Error).name;
  }
}

async function snapshot(store: StateStore, state: NamespacedState): Promise<unknown> {
  const out: unknown[] = [];
  for (const key of await store.keys()) out.push([key, (await store.get(key))?.value, (await store.get(key))?.version]);
  for (const ns of NAMESPACES) {
    const kv = state.namespace(ns);
    for (const key of await kv.keys()) out.push([ns, key, (await kv.get(key))?.value]);
  }
  out.push((await store.history()).map((c) => [c.type, c.key, c.entry?.version]));
  return out;
}

describe("InMemoryStateStore namespaces against the public-API path", () => {
  it("gives the same results, keys, versions and history for any mix of whole-store and namespace operations", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 0, max: 4 }), async (ops, createAt) => {
        const fast = new InMemoryStateStore();
        const slowInner = new InMemoryStateStore();
        const slow = new PassThroughStore(slowInner);
        const fastState = new NamespacedState(fast);
        const slowState = new NamespacedState(slow);
        // Namespaces are created part-way, so some keys move into a namespace after being written.
        const create = (): void => {
          for (const ns of NAMESPACES) {
            fastState.createNamespace(ns);
            slowState.createNamespace(ns);
          }
        };
        const results: [unknown, unknown][] = [];
        for (let i = 0; i < ops.length; i++) {
          if (i === createAt) create();
          const op = ops[i]!;
          if (op.ns >= 0 && i < createAt) continue;
          results.push([await apply(fast, fastState, op), await apply(slow, slowState, op)]);
        }
        if (ops.length <= createAt) create();
        for (const [a, b] of results) expect(a).toEqual(b);
        expect(await snapshot(fast, fastState)).toEqual(await snapshot(slow, slowState));
        expect(fast.size).toBe(slowInner.size);
      }),
      { numRuns: 200 },
    );
  });
});
